// Standard output as the destination of records (`record -o -`, `watch`'s text lines, the lab's
// report): a failed write is kept and told once (onError, then 'error') instead of reaching
// process.stdout, where oclif rethrows it (a stack trace, exit 1, a lab's sandboxes left behind).
// Behind a regular file (`> file` on a full disk) a write cut short is cut back, so the file ends on
// a line boundary as a trace file does (fd-sink.ts). Writes are synchronous, as Node's own stdout
// is for files and pipes: nothing waits in a buffer when oclif calls process.exit().
import {Writable} from 'node:stream'
import {fstatSync, ftruncateSync, readlinkSync, writeSync} from 'node:fs'

export class StdoutSink extends Writable {
  /** the path of the regular file behind standard output, when it is one */
  readonly file?: string
  /** the first write error */
  error?: Error
  private readonly regular: boolean
  private readonly fd: number
  private readonly stream: NodeJS.WritableStream
  private readonly onError?: (err: NodeJS.ErrnoException) => void

  /** `onError`: told of the first failed write, at once (the 'error' event comes a tick later). */
  constructor(opts: {onError?: (err: NodeJS.ErrnoException) => void; fd?: number; stream?: NodeJS.WritableStream} = {}) {
    super({decodeStrings: true})
    this.fd = opts.fd ?? 1
    this.stream = opts.stream ?? process.stdout
    this.onError = opts.onError
    const fd = this.fd
    let regular = false
    try {
      regular = fstatSync(fd).isFile()
    } catch {
      // not open: writes will say so
    }
    this.regular = regular
    if (regular) this.file = fileName(fd)
    this.on('error', (err: Error) => this.failed(err))
  }

  private failed(err: Error): void {
    if (this.error) return
    this.error = err
    this.onError?.(err)
  }

  /** Writes text unless a write has failed already (then it is dropped: the error is what counts). */
  line(text: string): void {
    if (!this.error && !this.destroyed) this.write(text)
  }

  /** Resolves once everything written so far has left the process. */
  drained(): Promise<void> {
    if (this.regular || this.error || this.destroyed) return Promise.resolve()
    return new Promise((resolve) => this.stream.write('', () => resolve()))
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (!this.regular) {
      // a pipe or a terminal: Node's stream, its errors ours (EPIPE included: the caller decides)
      this.stream.write(chunk, (err?: Error | null) => {
        if (!err) return
        this.failed(err)
        this.destroy(err)
      })
      cb()
      return
    }
    let done = 0
    try {
      while (done < chunk.length) done += writeSync(this.fd, chunk, done, chunk.length - done)
      cb()
    } catch (err) {
      // Our writes go to the end of the file (`>` starts it empty, `>>` appends): the `done` bytes
      // of this chunk that did fit are its last ones.
      if (done > 0) {
        try {
          ftruncateSync(this.fd, fstatSync(this.fd).size - done)
        } catch {
          // the write error below is what matters
        }
      }
      this.failed(err as Error)
      cb(err as Error)
    }
  }

  override _final(cb: (err?: Error | null) => void): void {
    // standard output stays open: others (oclif's error line) may still write to it
    cb()
  }
}

function fileName(fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`)
  } catch {
    return undefined
  }
}
