// Reads a trace file as a stream of records: gzip or plain (by magic bytes, not by name),
// line by line with flat memory, checking the header. A bad line or a missing footer is counted
// and reported once, never thrown; a file that is not a trace is refused.
import {createReadStream, openSync, readSync, closeSync, type ReadStream} from 'node:fs'
import {isUtf8} from 'node:buffer'
import {createGunzip, constants as zlibConstants} from 'node:zlib'
import type {Readable} from 'node:stream'
import {LineSplitter} from '../stream/lines.js'
import {UsageError, PausetraceError, EXIT} from '../errors.js'
import type {TraceRecord} from '../events/types.js'
import {headerVerdict, TRACE_FORMAT, TRACE_FORMAT_VERSION} from '../events/format.js'
import {isValidRecord} from './validate.js'

export interface ReadProblems {
  badLines: number
  firstBadLine?: number
  noFooter: boolean
  cutLastLine: boolean
}

export class NotATraceError extends PausetraceError {
  constructor(message: string) {
    super(message, EXIT.usage, 'NOT_A_TRACE')
  }
}

function isGzip(path: string): boolean {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    if (e.code === 'ENOENT') throw new UsageError(`${path} does not exist.`)
    if (e.code === 'EACCES') throw new UsageError(`${path} is not readable (permission denied); trace files are 0600, try sudo.`)
    if (e.code === 'EISDIR') throw new UsageError(`${path} is a directory, not a trace file.`)
    throw new UsageError(`cannot open ${path}: ${e.message}`)
  }
  try {
    const b = Buffer.alloc(2)
    const n = readSync(fd, b, 0, 2, 0)
    return n === 2 && b[0] === 0x1f && b[1] === 0x8b
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    throw new UsageError(e.code === 'EISDIR' ? `${path} is a directory, not a trace file.` : `cannot read ${path}: ${e.message}`)
  } finally {
    closeSync(fd)
  }
}

/** One readable line of a trace file: the record and the exact text it was read from. */
export interface TraceEntry {
  record: TraceRecord
  /** the line as stored (without its newline): replayed as is, so a round trip is byte-exact */
  line: string
}

/** Where a record sits in wall-clock time (merge.ts): `ms` from its own time field, `sub` to order within one ms. */
export interface MergeKey {
  ms: number
  /** nanoseconds: (file start − ms) × 10⁶ + t, i.e. the file's start + t, made comparable at equal `ms` */
  sub: number
}

/** A record with its line, its file (index in the order given) and its merge key. */
export interface MergedEntry extends TraceEntry {
  source: number
  key: MergeKey
  /**
   * The bytes read for this line, newline included, when they are exactly `line` + "\n" (valid
   * UTF-8, no CR stripped, a newline at its end): raw.subarray(rawStart, rawEnd). Copied to the
   * output as they are, so consecutive lines of one chunk are written as one piece.
   */
  raw: Buffer | undefined
  rawStart: number
  rawEnd: number
}

/** The key of entries whose key was not asked for (one file, no pacing): never read. */
export const NO_KEY: MergeKey = Object.freeze({ms: Number.NaN, sub: Number.NaN})

/**
 * Bytes read (and gunzipped) at a time: one batch of records. Not more: the text of a chunk is
 * one string, and a string over 128 KB lives in V8's large-object space until a full collection,
 * so larger chunks make memory grow with the file.
 */
const READ_CHUNK = 64 * 1024
/** A line the splitter found too long: never JSON, so it counts as a bad line. */
const OVERLONG = '\u0000overlong'

/**
 * Reads one trace file in batches: every readable record of each chunk read (64 KiB), in
 * file order, with flat memory. The first non-blank line must be a pausetrace header of a version
 * this build reads; anything else refuses the file before a record is returned. `problems` is
 * complete once `next()` has returned undefined.
 */
export class TraceReader {
  private readonly file: ReadStream
  private readonly stream: Readable
  private readonly chunks: AsyncIterator<Buffer>
  private readonly splitter = new LineSplitter()
  private lineNo = 0
  private sawHeader = false
  private sawFooter = false
  /** the line before the current one: handled once it is known not to be the file's last */
  private last: string | undefined
  /** its bytes (see MergedEntry.raw), when they are exactly its text and a newline */
  private lastRaw: Buffer | undefined
  private lastStart = 0
  private lastEnd = 0
  /**
   * The chunk being split, and where its next line starts. Each line the splitter gives while it
   * splits a chunk ends at the chunk's next newline byte (a newline is never inside a UTF-8
   * sequence), so the bytes of every line are found without decoding again.
   */
  private cur: Buffer | undefined
  private pos = 0
  /** whether the complete lines of `cur` are valid UTF-8 (then the decoded text is the bytes) */
  private curExact = false
  /** whether the first line of the next chunk starts in it (the chunk before ended with a newline) */
  private startsInChunk = true
  private done = false
  private out: MergedEntry[] = []

  /** `chunkBytes`: how much to read (and gunzip) at a time; tests make it small. */
  constructor(readonly path: string, readonly problems: ReadProblems, readonly source = 0, chunkBytes?: number) {
    const gzip = isGzip(path)
    this.file = createReadStream(path, {highWaterMark: chunkBytes ?? READ_CHUNK})
    this.stream = gzip ? this.file.pipe(createGunzip({chunkSize: Math.max(zlibConstants.Z_MIN_CHUNK, chunkBytes ?? READ_CHUNK)})) : this.file
    this.chunks = this.stream[Symbol.asyncIterator]()
  }

  /** The next records (never an empty array), or undefined once the file is done. */
  async next(): Promise<MergedEntry[] | undefined> {
    while (!this.done) {
      const batch = await this.fill()
      if (batch.length > 0) return batch
    }
    return undefined
  }

  /** Stops reading (also before the end): no file descriptor is left open. */
  close(): void {
    this.done = true
    this.stream.destroy()
    this.file.destroy()
  }

  private async fill(): Promise<MergedEntry[]> {
    this.out = []
    let chunk: Buffer | undefined
    try {
      const r = await this.chunks.next()
      if (!r.done) chunk = r.value
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      if (!this.sawHeader && this.last === undefined) {
        this.close()
        throw new NotATraceError(`${this.path} is not a pausetrace trace file (${e.code === 'Z_DATA_ERROR' || e.code === 'Z_BUF_ERROR' ? 'damaged gzip data' : e.message}).`)
      }
      this.problems.cutLastLine = true
    }
    try {
      if (chunk !== undefined) {
        this.split(chunk)
        return this.out
      }
      this.close()
      this.cur = undefined
      this.splitter.finish(this)
      if (this.last !== undefined) this.handle(this.last, true, this.lastRaw, this.lastStart, this.lastEnd)
      this.last = undefined
      this.lastRaw = undefined
      if (!this.sawHeader) throw new NotATraceError(`${this.path} is ${this.lineNo === 0 ? 'empty' : 'blank'}: not a pausetrace trace file.`)
      this.problems.noFooter = !this.sawFooter
      return this.out
    } catch (err) {
      this.close()
      throw err
    }
  }

  private split(chunk: Buffer): void {
    const lastNl = chunk.lastIndexOf(0x0a)
    const from = this.startsInChunk ? 0 : chunk.indexOf(0x0a) + 1
    this.curExact = lastNl >= from && isUtf8(chunk.subarray(from, lastNl + 1))
    this.cur = chunk
    this.pos = 0
    this.splitter.feed(chunk, this)
    this.cur = undefined
    if (chunk.length > 0) this.startsInChunk = chunk[chunk.length - 1] === 0x0a
  }

  /** LineSink: a line of the file. */
  line(text: string): void {
    if (this.last !== undefined) this.handle(this.last, false, this.lastRaw, this.lastStart, this.lastEnd)
    this.last = text
    this.lastRaw = undefined
    const cur = this.cur
    if (cur === undefined) return // the end of the file: a last line without a newline
    const start = this.pos
    const nl = cur.indexOf(0x0a, start)
    this.pos = nl + 1
    // Exact when it started in this chunk, the chunk's lines are valid UTF-8 and no CR was stripped.
    if (this.curExact && (start > 0 || this.startsInChunk) && !(nl > start && cur[nl - 1] === 0x0d)) {
      this.lastRaw = cur
      this.lastStart = start
      this.lastEnd = nl + 1
    }
  }

  /** LineSink: a line too long to be a record. */
  overlong(): void {
    this.line(OVERLONG)
  }

  private bad(isLast: boolean): void {
    if (isLast) this.problems.cutLastLine = true
    else {
      this.problems.badLines++
      this.problems.firstBadLine ??= this.lineNo
    }
  }

  private handle(text: string, isLast: boolean, raw: Buffer | undefined, rawStart: number, rawEnd: number): void {
    this.lineNo++
    // Records start with "{": only other lines can be blank.
    if (text.charCodeAt(0) !== 0x7b && text.trim() === '') return
    let rec: TraceRecord
    try {
      rec = JSON.parse(text) as TraceRecord
      if (typeof rec !== 'object' || rec === null || Array.isArray(rec) || typeof (rec as {type?: unknown}).type !== 'string') throw new Error('no type')
    } catch {
      if (!this.sawHeader) throw new NotATraceError(`${this.path} is not a pausetrace trace file (its first line is not a JSON header).`)
      this.bad(isLast)
      return
    }
    if (!this.sawHeader) {
      const h = rec as {type: string; format?: unknown; version?: unknown}
      const verdict = headerVerdict(h)
      if (verdict === 'not-this-format') throw new NotATraceError(`${this.path} is not a pausetrace trace file (no ${TRACE_FORMAT} header).`)
      if (verdict === 'no-version') throw new NotATraceError(`${this.path} has a ${TRACE_FORMAT} header without a valid format version (${JSON.stringify(h.version ?? null)}).`)
      if (verdict === 'newer') {
        throw new PausetraceError(`${this.path} is trace format version ${String(h.version)}; this pausetrace reads version ${TRACE_FORMAT_VERSION} and older: upgrade pausetrace.`, EXIT.environment, 'NEWER_FORMAT')
      }
      this.sawHeader = true
    }
    if (!isValidRecord(rec)) {
      // JSON, but not a whole record of this format: counted like any unreadable line
      this.bad(isLast)
      return
    }
    if (rec.type === 'footer') this.sawFooter = true
    this.out.push({record: rec, line: text, source: this.source, key: NO_KEY, raw, rawStart, rawEnd})
  }
}

/** Yields every readable record of the file; `problems` is complete once the iteration ends. */
export async function* readTrace(path: string, problems: ReadProblems): AsyncGenerator<TraceRecord> {
  for await (const e of readTraceEntries(path, problems)) yield e.record
}

/**
 * Like readTrace, with each record's line. The first non-blank line must be a pausetrace header
 * of a version this build reads; anything else refuses the file before a record is yielded.
 */
export async function* readTraceEntries(path: string, problems: ReadProblems): AsyncGenerator<TraceEntry> {
  const reader = new TraceReader(path, problems)
  try {
    for (let batch = await reader.next(); batch; batch = await reader.next()) yield* batch
  } finally {
    reader.close()
  }
}

export function describeProblems(path: string, p: ReadProblems): string | undefined {
  const parts: string[] = []
  if (p.badLines > 0) parts.push(`${p.badLines} unreadable line(s) skipped (first: line ${p.firstBadLine})`)
  if (p.cutLastLine) parts.push('the last line was cut short')
  if (p.noFooter) parts.push('no footer (the recording did not end cleanly)')
  return parts.length ? `warning: ${path}: ${parts.join('; ')}; everything readable was replayed.` : undefined
}
