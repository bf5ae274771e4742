// `record`: one trace session written to a trace file, with the header once attached, the
// footer on every way out, and a one-line summary on stderr.
import {bpftraceInfo} from '../probe/bpftrace.js'
import {assertCanTrace} from '../probe/environment.js'
import type {Filters} from '../events/filter.js'
import {TraceWriter} from '../record/writer.js'
import {LiveTrace, type TraceTotals} from './live-trace.js'
import {EnvironmentError} from '../errors.js'
import {onStopSignals} from '../util/signals.js'
import {guardTerminal} from '../util/hangup.js'

export interface RecordOptions {
  output: string
  force?: boolean
  filters: Filters
  durationMs?: number
  maxSize?: number
  bpftrace?: string
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
  assertCanTrace()
  const info = await bpftraceInfo(opts.bpftrace)
  const writer = TraceWriter.open(opts.output, {force: opts.force})
  let live!: LiveTrace
  const onSignal = (): void => {
    void live?.stop('interrupt')
  }
  const offSignals = onStopSignals(onSignal)
  // run from a terminal that is closed: a clean stop, as on SIGHUP, and the summary goes nowhere
  guardTerminal(onSignal)
  try {
    live = new LiveTrace({bpftrace: info, filters: opts.filters, host: opts.host, argv: opts.argv, log}, (r) => {
      writer.write(r)
      if (writer.error) void live.stop('error')
      else if (opts.maxSize !== undefined && writer.bytes >= opts.maxSize) void live.stop('max-size')
    })
    await live.start()
    writer.flush()
  } catch (err) {
    // Nothing was recorded: leave no empty file behind to block the next run.
    offSignals()
    live?.kill()
    await writer.discard()
    throw err
  }
  const timer = opts.durationMs === undefined ? undefined : setTimeout(() => void live.stop('duration'), opts.durationMs)
  try {
    const result = await live.done()
    writer.write(live.footer(result))
    let writeError: Error | undefined
    await writer.close().catch((err: Error) => {
      writeError = err
    })
    const failed = writer.error ?? writeError
    if (!failed) log(live.summary(result, opts.output === '-' ? 'stdout' : opts.output))
    if (failed) {
      const e = failed as NodeJS.ErrnoException
      const why = e.code === 'ENOSPC' ? 'the disk is full' : e.code === 'EDQUOT' ? 'the disk quota is used up' : e.message
      throw new EnvironmentError(`cannot write ${opts.output}: ${why}; recording stopped and the file ends at its last complete record.`, 'WRITE_FAILED')
    }
    return {output: opts.output, ...live.totals(result)}
  } finally {
    if (timer) clearTimeout(timer)
    offSignals()
    live.kill()
  }
}
