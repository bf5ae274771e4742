// Reads a trace file as a stream of records: gzip or plain (by magic bytes, not by name),
// line by line with flat memory, checking the header. A bad line or a missing footer is counted
// and reported once, never thrown; a file that is not a trace is refused.
import {createReadStream, openSync, readSync, closeSync} from 'node:fs'
import {createGunzip} from 'node:zlib'
import type {Readable} from 'node:stream'
import {LineSplitter} from '../stream/lines.js'
import {UsageError, PausetraceError, EXIT} from '../errors.js'
import type {TraceRecord} from '../events/types.js'
import {isValidRecord} from './validate.js'

export const FORMAT = 'pausetrace-trace'
export const FORMAT_VERSION = 1

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

/** Yields every readable record of the file; `problems` is complete once the iteration ends. */
export async function* readTrace(path: string, problems: ReadProblems): AsyncGenerator<TraceRecord> {
  for await (const e of readTraceEntries(path, problems)) yield e.record
}

/**
 * Like readTrace, with each record's line. The first non-blank line must be a pausetrace header
 * of a version this build reads; anything else refuses the file before a record is yielded.
 */
export async function* readTraceEntries(path: string, problems: ReadProblems): AsyncGenerator<TraceEntry> {
  const gzip = isGzip(path)
  const file = createReadStream(path)
  const stream: Readable = gzip ? file.pipe(createGunzip()) : file
  const splitter = new LineSplitter()
  let lineNo = 0
  let sawHeader = false
  let sawFooter = false
  let last: string | undefined
  const handle = function* (text: string, isLast: boolean): Generator<TraceEntry> {
    lineNo++
    if (text.trim() === '') return
    let rec: TraceRecord
    try {
      rec = JSON.parse(text) as TraceRecord
      if (typeof rec !== 'object' || rec === null || Array.isArray(rec) || typeof (rec as {type?: unknown}).type !== 'string') throw new Error('no type')
    } catch {
      if (!sawHeader) throw new NotATraceError(`${path} is not a pausetrace trace file (its first line is not a JSON header).`)
      if (isLast) problems.cutLastLine = true
      else {
        problems.badLines++
        problems.firstBadLine ??= lineNo
      }
      return
    }
    if (!sawHeader) {
      const h = rec as {type: string; format?: unknown; version?: unknown}
      if (h.type !== 'header' || h.format !== FORMAT) throw new NotATraceError(`${path} is not a pausetrace trace file (no ${FORMAT} header).`)
      if (typeof h.version !== 'number' || !Number.isInteger(h.version) || h.version < 1) {
        throw new NotATraceError(`${path} has a ${FORMAT} header without a valid format version (${JSON.stringify(h.version ?? null)}).`)
      }
      if (h.version > FORMAT_VERSION) {
        throw new PausetraceError(`${path} is trace format version ${h.version}; this pausetrace reads version ${FORMAT_VERSION} and older: upgrade pausetrace.`, EXIT.environment, 'NEWER_FORMAT')
      }
      sawHeader = true
    }
    if (!isValidRecord(rec)) {
      // JSON, but not a whole record of this format: counted like any unreadable line
      if (isLast) problems.cutLastLine = true
      else {
        problems.badLines++
        problems.firstBadLine ??= lineNo
      }
      return
    }
    if (rec.type === 'footer') sawFooter = true
    yield {record: rec, line: text}
  }
  try {
    for await (const chunk of stream) {
      for (const item of splitter.push(chunk as Buffer)) {
        if (last !== undefined) yield* handle(last, false)
        last = item.kind === 'line' ? item.text : '\u0000overlong'
      }
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    if (!sawHeader && last === undefined) throw new NotATraceError(`${path} is not a pausetrace trace file (${e.code === 'Z_DATA_ERROR' || e.code === 'Z_BUF_ERROR' ? 'damaged gzip data' : e.message}).`)
    problems.cutLastLine = true
  } finally {
    // Also when the caller stops early: no file descriptor is left open.
    stream.destroy()
    file.destroy()
  }
  for (const item of splitter.end()) {
    if (last !== undefined) yield* handle(last, false)
    last = item.kind === 'line' ? item.text : '\u0000overlong'
  }
  if (last !== undefined) yield* handle(last, true)
  if (!sawHeader) throw new NotATraceError(`${path} is ${lineNo === 0 ? 'empty' : 'blank'}: not a pausetrace trace file.`)
  problems.noFooter = !sawFooter
}

export function describeProblems(path: string, p: ReadProblems): string | undefined {
  const parts: string[] = []
  if (p.badLines > 0) parts.push(`${p.badLines} unreadable line(s) skipped (first: line ${p.firstBadLine})`)
  if (p.cutLastLine) parts.push('the last line was cut short')
  if (p.noFooter) parts.push('no footer (the recording did not end cleanly)')
  return parts.length ? `warning: ${path}: ${parts.join('; ')}; everything readable was replayed.` : undefined
}
