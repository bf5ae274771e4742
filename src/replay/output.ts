// Text (or bytes) out to a stream in batches, waiting for 'drain' when the reader is slower (memory
// stays flat however large the input), and stopping quietly when the reader goes away (EPIPE:
// `| head`).
import type {Writable} from 'node:stream'

const BATCH_BYTES = 64 * 1024

export class BatchedOutput {
  /** true once the reader is gone: the producer should stop */
  closed = false
  error?: Error
  private buf: Array<string | Buffer> = []
  private bufLen = 0

  constructor(private readonly out: Writable) {
    out.on('error', this.onError)
  }

  private onError = (err: NodeJS.ErrnoException): void => {
    this.closed = true
    if (err.code !== 'EPIPE') this.error ??= err
  }

  /** Queues one piece of text or bytes; returns a promise only when the batch had to wait for the reader. */
  write(text: string | Buffer): Promise<void> | undefined {
    this.buf.push(text)
    this.bufLen += text.length
    return this.bufLen >= BATCH_BYTES ? this.flush() : undefined
  }

  async flush(): Promise<void> {
    if (this.buf.length === 0) return
    const chunk = this.buf.length === 1 ? this.buf[0] : this.buf.every((b) => typeof b === 'string') ? this.buf.join('') : Buffer.concat(this.buf.map((b) => (typeof b === 'string' ? Buffer.from(b) : b)))
    this.buf = []
    this.bufLen = 0
    if (this.closed) return
    if (!this.out.write(chunk)) await this.drained()
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.out.off('drain', done)
        this.out.off('close', done)
        this.out.off('error', done)
        resolve()
      }
      this.out.on('drain', done)
      this.out.on('close', done)
      this.out.on('error', done)
    })
  }

  /** Flushes, then detaches from the stream; throws a write error other than EPIPE. */
  async end(): Promise<void> {
    await this.flush()
    this.out.off('error', this.onError)
    // Keep swallowing a late EPIPE: the process may still be flushing when the reader leaves.
    this.out.on('error', () => undefined)
    if (this.error) throw this.error
  }
}
