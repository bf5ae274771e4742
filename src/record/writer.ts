// The trace file writer: NDJSON records, gzip when the name ends in .gz, created 0600 without
// following symlinks and without overwriting unless asked. Writes are batched and never block
// the caller (the bpftrace pipe must keep draining); a write error is kept and reported once.
import {unlinkSync} from 'node:fs'
import {openOutputFd} from './safe-open.js'
import {FdSink} from './fd-sink.js'
import {StdoutSink} from './stdout.js'
import {createRequire} from 'node:module'
import type {Gzip} from 'node:zlib'
import type {Writable} from 'node:stream'

/** node:zlib loaded for a .gz file only (it is ~5 ms of every trace's start otherwise) */
function newGzip(): Gzip {
  const zlib = createRequire(import.meta.url)('node:zlib') as typeof import('node:zlib')
  return zlib.createGzip()
}

export interface WriterOptions {
  force?: boolean
  /** write gzip; default: when the path ends in .gz */
  gzip?: boolean
}

const FLUSH_BYTES = 64 * 1024
/** a record waits at most this long in the buffer */
const FLUSH_MS = 200

export class TraceWriter {
  /** bytes of NDJSON written so far (before compression) */
  bytes = 0
  records = 0
  error?: Error
  private buf: string[] = []
  private bufBytes = 0
  private out: Writable
  private file?: FdSink
  private gz?: Gzip
  private timer?: NodeJS.Timeout

  /** what a message names: the path, or for "-" the file behind standard output when it is one */
  readonly where: string

  private constructor(readonly path: string, out: Writable, file?: FdSink, gz?: Gzip, stdout?: StdoutSink) {
    this.out = out
    this.file = file
    this.gz = gz
    this.where = stdout?.file ?? path
    for (const s of [out, file, gz, stdout]) s?.on('error', (err: Error) => {
      this.error ??= err
    })
  }

  static open(path: string, opts: WriterOptions = {}): TraceWriter {
    if (path === '-') {
      const stdout = new StdoutSink()
      const gz = opts.gzip ? newGzip() : undefined
      if (gz) gz.pipe(stdout)
      return new TraceWriter(path, gz ?? stdout, undefined, gz, stdout)
    }
    const fd = openOutputFd(path, {force: opts.force})
    const file = new FdSink(fd)
    const gzip = opts.gzip ?? path.endsWith('.gz')
    if (!gzip) return new TraceWriter(path, file, file)
    const gz = newGzip()
    gz.pipe(file)
    return new TraceWriter(path, gz, file, gz)
  }

  write(record: object): void {
    const line = JSON.stringify(record) + '\n'
    this.buf.push(line)
    const n = Buffer.byteLength(line)
    this.bufBytes += n
    this.bytes += n
    this.records++
    if (this.bufBytes >= FLUSH_BYTES) this.flush()
    // armed by a record while none is armed, not on an interval: a trace with nothing to write
    // never wakes node up for the file
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined
        this.flush()
      }, FLUSH_MS)
      this.timer.unref()
    }
  }

  flush(): void {
    if (this.buf.length === 0 || this.error) return
    const chunk = this.buf.join('')
    this.buf = []
    this.bufBytes = 0
    this.out.write(chunk)
  }

  /** Closes and removes the file: for a trace that never started (nothing was written to it). */
  async discard(): Promise<void> {
    this.buf = []
    await this.close().catch(() => undefined)
    if (this.path !== '-') {
      try {
        unlinkSync(this.path)
      } catch {
        // already gone
      }
    }
  }

  /** Flushes and closes; resolves once the bytes are on disk (or rejects with the write error). */
  async close(): Promise<void> {
    clearTimeout(this.timer)
    this.flush()
    if (this.path === '-') {
      if (this.gz) await new Promise<void>((resolve) => this.gz?.end(resolve))
      else await new Promise<void>((resolve) => (this.out.writableNeedDrain ? this.out.once('drain', () => resolve()) : resolve()))
    } else {
      const file = this.file as FdSink
      if (this.error || file.destroyed) {
        // a failed write destroyed the stream (its descriptor is closed): nothing more to wait for
        this.gz?.destroy()
        file.destroy()
        throw this.error ?? new Error(`${this.path}: the file was closed after a write error`)
      }
      await new Promise<void>((resolve) => {
        file.once('finish', () => resolve())
        file.once('close', () => resolve())
        file.once('error', () => resolve())
        this.out.end()
      })
    }
    if (this.error) throw this.error
  }
}
