// `record`: one live trace whose only sink is the trace file (run.ts writes it: the header once
// attached, the footer on every way out), and a one-line summary on stderr.
import type {Filters} from '../events/filter.js'
import type {TraceTotals} from './live-trace.js'
import {LiveRun} from './run.js'
import type {FindingRecord} from '../events/types.js'
import type {MetricsAddress} from '../metrics/server.js'
import type {BpftraceInfo} from '../probe/bpftrace.js'

export interface RecordOptions {
  output: string
  force?: boolean
  filters: Filters
  durationMs?: number
  maxSize?: number
  bpftrace?: string
  /** the version probe of that bpftrace, already started */
  bpftraceProbe?: Promise<BpftraceInfo>
  /** --cri-socket */
  criSocket?: string
  argv: string[]
  host: string
  /** where the summary goes (default stderr) */
  log?: (line: string) => void
  /** --explain: the findings, after the summary */
  explain?: boolean
  /** --metrics */
  metrics?: {address: MetricsAddress; expiryMs: number}
}

export interface RecordResult extends TraceTotals {
  output: string
  /** with --explain */
  findings?: FindingRecord[]
}

export async function recordTrace(opts: RecordOptions): Promise<RecordResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`))
  const run = await LiveRun.open({
    bpftrace: opts.bpftrace,
    bpftraceProbe: opts.bpftraceProbe,
    criSocket: opts.criSocket,
    filters: opts.filters,
    host: opts.host,
    argv: opts.argv,
    notice: log,
    file: {path: opts.output, force: opts.force, maxSize: opts.maxSize},
    durationMs: opts.durationMs,
    summary: {log, where: opts.output === '-' ? 'stdout' : opts.output},
    findings: opts.explain,
    metrics: opts.metrics,
  })
  try {
    await run.start()
    if (run.metricsUrl) log(`pausetrace: metrics at ${run.metricsUrl}`)
    const {totals} = await run.finish()
    if (!opts.explain) return {output: opts.output, ...totals}
    const {compareFindings, formatFinding} = await import('../findings/format.js')
    const list = [...run.findings].sort(compareFindings)
    log(list.length === 0 ? 'pausetrace: no findings: nothing in this trace needs acting on.' : `pausetrace: ${list.length} finding${list.length === 1 ? '' : 's'}:\n${list.map(formatFinding).join('\n')}`)
    return {output: opts.output, ...totals, findings: list}
  } finally {
    run.dispose()
  }
}
