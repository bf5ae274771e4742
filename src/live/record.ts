// `record`: one live trace whose only sink is the trace file (run.ts writes it: the header once
// attached, the footer on every way out), and a one-line summary on stderr.
import type {Filters} from '../events/filter.js'
import type {TraceTotals} from './live-trace.js'
import {LiveRun} from './run.js'

export interface RecordOptions {
  output: string
  force?: boolean
  filters: Filters
  durationMs?: number
  maxSize?: number
  bpftrace?: string
  /** --cri-socket */
  criSocket?: string
  argv: string[]
  host: string
  /** where the summary goes (default stderr) */
  log?: (line: string) => void
}

export interface RecordResult extends TraceTotals {
  output: string
}

export async function recordTrace(opts: RecordOptions): Promise<RecordResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`))
  const run = await LiveRun.open({
    bpftrace: opts.bpftrace,
    criSocket: opts.criSocket,
    filters: opts.filters,
    host: opts.host,
    argv: opts.argv,
    notice: log,
    file: {path: opts.output, force: opts.force, maxSize: opts.maxSize},
    durationMs: opts.durationMs,
    summary: {log, where: opts.output === '-' ? 'stdout' : opts.output},
  })
  try {
    await run.start()
    const {totals} = await run.finish()
    return {output: opts.output, ...totals}
  } finally {
    run.dispose()
  }
}
