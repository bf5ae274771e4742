// `replay`: one or more trace files, merged by wall clock, filtered, paced, printed as the stored
// JSON lines (byte for byte) or as text lines; one warning line per damaged file at the end.
import type {Writable} from 'node:stream'
import {TraceMerge, type MergedEntry, type TraceSource} from './merge.js'
import {RecordFilter, type ReplayFilters} from './filter.js'
import {Pacer, realClock, type Clock} from './pace.js'
import {BatchedOutput} from './output.js'
import {describeProblems} from './reader.js'
import {formatMergedRecord} from '../ui/text-line.js'

export interface ReplayOptions {
  files: string[]
  format: 'json' | 'text'
  filters: ReplayFilters
  /** real time × speed; 0 = as fast as possible */
  speed: number
  out: Writable
  /** one line to the user (stderr) */
  warn: (line: string) => void
  clock?: Clock
}

export interface ReplayResult {
  files: number
  /** lines written */
  records: number
  hosts: string[]
  /** the warning lines given to `warn` (damaged files) */
  warnings: string[]
}

/** The stored line with `"host"` added last, or as is when the record already names one. */
export function withHost(line: string, record: object, host: string): string {
  if ('host' in record) return line
  const body = line.trimEnd()
  if (!body.endsWith('}')) return line
  return `${body.slice(0, -1)},"host":${JSON.stringify(host)}}`
}

function startMs(s: TraceSource): number {
  const ms = Date.parse(s.header.startedAt)
  return Number.isFinite(ms) ? ms : 0
}

export async function replayTraces(opts: ReplayOptions): Promise<ReplayResult> {
  const merge = await TraceMerge.open(opts.files)
  const hosts = merge.hosts
  const multiHost = hosts.length > 1
  const hostOf = merge.sources.map((s) => String(s.header.host))
  const earliest = Math.min(...merge.sources.map(startMs))
  const offsetNs = merge.sources.map((s) => (startMs(s) - earliest) * 1e6)
  const filter = new RecordFilter(opts.filters)
  const clock = opts.clock ?? realClock
  const pacer = new Pacer(opts.speed, clock)
  const output = new BatchedOutput(opts.out)
  const render = (e: MergedEntry): string | undefined => {
    const r = e.record
    if (opts.format === 'json') return multiHost && r.type !== 'header' ? withHost(e.line, r, hostOf[e.source]) : e.line
    if (r.type === 'event' || r.type === 'lost') return formatMergedRecord(r, offsetNs[e.source], multiHost ? hostOf[e.source] : undefined)
    return undefined
  }
  let records = 0
  try {
    for await (const e of merge.entries()) {
      if (output.closed) break
      if (!filter.keep(e.record, e.source)) continue
      const text = render(e)
      if (text === undefined) continue
      if (opts.speed > 0) {
        const ms = pacer.delay(e.key.ms)
        if (ms >= 1) {
          await output.flush()
          await clock.sleep(ms)
        }
      }
      const wait = output.write(`${text}\n`)
      if (wait) await wait
      records++
    }
  } finally {
    await output.end()
  }
  const warnings: string[] = []
  for (const s of merge.sources) {
    const w = describeProblems(s.path, s.problems)
    if (w) {
      warnings.push(`pausetrace: ${w}`)
      opts.warn(`pausetrace: ${w}`)
    }
  }
  return {files: merge.sources.length, records, hosts, warnings}
}
