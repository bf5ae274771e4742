// `replay`: one or more trace files, merged by wall clock, filtered, paced, printed as the stored
// JSON lines (byte for byte) or as text lines; one warning line per damaged file at the end.
// Records move in batches (one chunk of the file at a time) and each batch is one write.
import type {Writable} from 'node:stream'
import type {MergedEntry} from './merge.js'
import type {Filters} from '../events/filter.js'
import {TraceInput} from './input.js'
import {Pacer, realClock, type Clock} from './pace.js'
import {BatchedOutput} from './output.js'
import {formatMergedRecord} from '../ui/text-line.js'
import {SandboxNames} from '../ui/sandbox-names.js'
import {RuntimeNoiseFold} from '../events/runtime-procs.js'

export interface ReplayOptions {
  files: string[]
  format: 'json' | 'text'
  filters: Filters
  /** real time × speed; 0 = as fast as possible */
  speed: number
  out: Writable
  /** one line to the user (stderr) */
  warn: (line: string) => void
  clock?: Clock
  /** --text: also the events among the runtime's own processes (folded away by default; --json prints every record) */
  runtimeNoise?: boolean
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

/** The lines of the entries with their newlines, as bytes: the file's own where they are exact. */
function rawLines(batch: MergedEntry[]): Buffer {
  const pieces: Buffer[] = []
  let run: Buffer | undefined
  let start = 0
  let end = 0
  for (const e of batch) {
    if (e.raw !== undefined && e.raw === run && e.rawStart === end) {
      end = e.rawEnd
      continue
    }
    if (run) pieces.push(run.subarray(start, end))
    if (e.raw !== undefined) {
      run = e.raw
      start = e.rawStart
      end = e.rawEnd
    } else {
      run = undefined
      pieces.push(Buffer.from(`${e.line}\n`))
    }
  }
  if (run) pieces.push(run.subarray(start, end))
  return pieces.length === 1 ? pieces[0] : Buffer.concat(pieces)
}

export async function replayTraces(opts: ReplayOptions): Promise<ReplayResult> {
  const pacing = opts.speed > 0
  const input = await TraceInput.open(opts.files, opts.filters, {keys: pacing})
  const hosts = input.hosts
  const multiHost = hosts.length > 1
  const hostOf = input.sources.map((s) => String(s.header.host))
  const output = new BatchedOutput(opts.out)
  let records = 0
  let folded: RuntimeNoiseFold | undefined
  try {
    if (opts.format === 'json' && !multiHost && !pacing) {
      // The records as read, unchanged (the filters only leave lines out): the file's own bytes.
      for await (const batch of input.batches()) {
        if (output.closed) break
        records += batch.length
        const wait = output.write(rawLines(batch))
        if (wait) await wait
      }
    } else {
      const offsetNs = input.offsetNs
      // per file: two hosts' sandboxes may have the same id
      const names = input.sources.map(() => new SandboxNames())
      const noise = new RuntimeNoiseFold(opts.format === 'json' || opts.runtimeNoise)
      folded = noise
      const render: (e: MergedEntry) => string | undefined =
        opts.format === 'json'
          ? (e) => (multiHost && e.record.type !== 'header' ? withHost(e.line, e.record, hostOf[e.source]) : e.line)
          : (e) => {
              const r = e.record
              if (r.type === 'sandbox') names[e.source].feed(r)
              if (noise.hides(r)) return undefined
              return r.type === 'event' || r.type === 'lost' ? formatMergedRecord(r, offsetNs[e.source], multiHost ? hostOf[e.source] : undefined, names[e.source].label) : undefined
            }
      records = await writeLines(input, output, render, pacing ? new Pacer(opts.speed, opts.clock ?? realClock) : undefined)
    }
  } finally {
    await output.end()
  }
  const notice = folded?.notice()
  if (notice) opts.warn(notice)
  return {files: input.sources.length, records, hosts, warnings: input.warnings(opts.warn)}
}

/** Writes the rendered line of each record, one write per batch, paced when a pacer is given; returns the lines written. */
async function writeLines(input: TraceInput, output: BatchedOutput, render: (e: MergedEntry) => string | undefined, pacer?: Pacer): Promise<number> {
  let records = 0
  let lines: string[] = []
  const put = (): Promise<void> | undefined => {
    if (lines.length === 0) return undefined
    const text = `${lines.join('\n')}\n`
    lines = []
    return output.write(text)
  }
  try {
    for await (const batch of input.batches()) {
      if (output.closed) break
      for (const e of batch) {
        const text = render(e)
        if (text === undefined) continue
        if (pacer) {
          const ms = pacer.delay(e.key.ms)
          if (ms >= 1) {
            await put()
            await output.flush()
            await pacer.clock.sleep(ms)
            if (output.closed) return records
          }
        }
        lines.push(text)
        records++
      }
      const wait = put()
      if (wait) await wait
    }
  } finally {
    await put()
  }
  return records
}
