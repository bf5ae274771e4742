// The one way to run a live trace, for record, watch and lab: checks the machine, finds bpftrace,
// opens the trace file, owns the stop signals and a closed terminal, writes the header once every
// probe is attached and the footer on every way out, and turns a failed write (a full disk) into
// the same one-line error and exit code 3 whichever command ran. The commands choose the sinks.
import {bpftraceInfo, type BpftraceInfo} from '../probe/bpftrace.js'
import {assertCanTrace} from '../probe/environment.js'
import {TraceWriter} from '../record/writer.js'
import {StdoutSink} from '../record/stdout.js'
import {EnvironmentError} from '../errors.js'
import {criEndpoints} from '../sandbox/cri-client.js'
import {onStopSignals} from '../util/signals.js'
import {startMark} from '../util/start-log.js'
import {guardTerminal} from '../util/hangup.js'
import type {Filters} from '../events/filter.js'
import type {FindingRecord, FooterRecord, HeaderRecord, StopReason} from '../events/types.js'
import type {LiveTrace, LiveRecord, LiveResult, TraceTotals} from './live-trace.js'
import type {LiveFindings} from './live-findings.js'
import {prestartTrace, type PrestartedTrace} from './plan.js'
import type {TraceMetrics} from '../metrics/trace-metrics.js'
import {serveMetrics, type MetricsAddress} from '../metrics/server.js'

interface LiveMetrics {
  metrics: TraceMetrics
  server: {close(): Promise<void>; url: string}
}

export interface LiveRunOptions {
  /** --bpftrace */
  bpftrace?: string
  /** the version probe of that bpftrace, already started (probeBpftraceEarly) */
  bpftraceProbe?: Promise<BpftraceInfo>
  filters: Filters
  host: string
  argv: string[]
  /** notices while the trace runs ("no sandbox matches yet") */
  notice: (line: string) => void
  /** the trace file to write ("-": standard output); `maxSize` stops the trace once it holds that much */
  file?: {path: string; force?: boolean; maxSize?: number}
  /** stop the trace after this long */
  durationMs?: number
  /** where the closing summary goes and what it names as the records' destination (none: no summary) */
  summary?: {log: (line: string) => void; where: string}
  /** more checks of the machine, after the privileges and before bpftrace is looked for */
  checks?: () => void
  /** a stop signal, or the terminal gone; by default the trace stops ('interrupt') */
  onStopSignal?: () => void
  /** a write failed: the trace is stopping ('error') and the run will end with exit 3 */
  onWriteFailed?: () => void
  /** standard input is read (the Ink view): a hung-up terminal there stops the trace too */
  readsStdin?: boolean
  /** --cri-socket: the CRI runtime to name pods from (else $PAUSETRACE_CRI_SOCKET, else the standard sockets) */
  criSocket?: string
  /** decide findings while the trace runs (src/findings/): told each one as it is found */
  onFinding?: (f: FindingRecord) => void
  /** record --explain: findings are kept for the end (`findings`) */
  findings?: boolean
  /** --metrics: the Prometheus text format at http://ADDRESS/metrics while tracing */
  metrics?: {address: MetricsAddress; expiryMs: number}
}

export interface LiveEnd {
  result: LiveResult
  footer: FooterRecord
  totals: TraceTotals
}

/** A write that failed, as `record` has always said it: what, why, and that the file is still good up to there. */
export function writeFailedError(where: string, err: Error): EnvironmentError {
  const e = err as NodeJS.ErrnoException
  const why = e.code === 'ENOSPC' ? 'the disk is full' : e.code === 'EDQUOT' ? 'the disk quota is used up' : e.message
  return new EnvironmentError(`cannot write ${where}: ${why}; recording stopped and the file ends at its last complete record.`, 'WRITE_FAILED')
}

export class LiveRun {
  private live?: LiveTrace
  private timer?: NodeJS.Timeout
  private failure?: EnvironmentError
  private readonly offSignals: () => void
  private readonly releases: Array<() => void> = []

  /**
   * Privileges, then bpftrace, then the trace file (a usage error there leaves nothing started),
   * then the stop signals. Call dispose() when done, on every path.
   */
  static async open(opts: LiveRunOptions): Promise<LiveRun> {
    try {
      assertCanTrace()
      // a --cri-socket that is not a socket: a usage error before anything starts
      if (opts.criSocket !== undefined) criEndpoints({flag: opts.criSocket})
      opts.checks?.()
    } catch (err) {
      // a version probe started early has ended before the error is told: nothing outlives the command
      await opts.bpftraceProbe?.catch(() => undefined)
      throw err
    }
    startMark('checks done')
    const info = await (opts.bpftraceProbe ?? bpftraceInfo(opts.bpftrace))
    startMark(`bpftrace ${info.version} found`)
    const writer = opts.file ? TraceWriter.open(opts.file.path, {force: opts.file.force}) : undefined
    // the metrics port last: a port in use leaves no trace file behind
    let metrics: LiveMetrics | undefined
    if (opts.metrics) {
      // prom-client (~80 modules) only when asked for: every trace's start would load it
      const {TraceMetrics} = await import('../metrics/trace-metrics.js')
      const m = new TraceMetrics({expiryMs: opts.metrics.expiryMs})
      try {
        metrics = {metrics: m, server: await serveMetrics(opts.metrics.address, m)}
      } catch (err) {
        await writer?.discard()
        throw err
      }
    }
    return new LiveRun(opts, info, writer, metrics)
  }

  /** The findings of the trace so far (with `findings`, `onFinding` or `metrics`). */
  get findings(): FindingRecord[] {
    return this.finder?.found ?? []
  }

  /** Where the metrics are served, with --metrics. */
  get metricsUrl(): string | undefined {
    return this.metrics?.server.url
  }

  private finder?: LiveFindings

  private constructor(
    private readonly opts: LiveRunOptions,
    readonly bpftrace: BpftraceInfo,
    private readonly writer?: TraceWriter,
    private readonly metrics?: LiveMetrics,
  ) {
    const onStop = opts.onStopSignal ?? ((): void => void this.stop('interrupt'))
    this.offSignals = onStopSignals(onStop)
    // run from a terminal that is closed: a clean stop, as on SIGHUP (util/hangup.ts says why)
    guardTerminal(onStop, {stdin: opts.readsStdin})
  }

  /** Something to undo before anything is printed at the end (the Ink view gives the terminal back). */
  onRelease(fn: () => void): void {
    this.releases.push(fn)
  }

  /**
   * Standard output for a sink that prints there. `onError` judges a failed write (a closed pipe
   * may be a normal end); a real failure goes to writeFailed(err, sink.file ?? 'stdout').
   */
  stdout(onError: (err: NodeJS.ErrnoException, sink: StdoutSink) => void): StdoutSink {
    const sink: StdoutSink = new StdoutSink({onError: (err) => onError(err, sink)})
    return sink
  }

  /** A sink could not write (first failure wins): the trace stops, and finish() or check() throws. */
  writeFailed(err: Error, where: string): void {
    if (this.failure) return
    this.failure = writeFailedError(where, err)
    void this.stop('error')
    this.opts.onWriteFailed?.()
  }

  /**
   * Starts bpftrace; once every probe is attached, the header goes to the file and to `onRecord`.
   * `criSocket`: a CRI socket known only now (the lab's private containerd, started after open()),
   * over the one given to open().
   */
  async start(onRecord?: (r: LiveRecord) => void, more: {criSocket?: string} = {}): Promise<HeaderRecord> {
    // a sink could not write already (the lab's first lines): no trace to start
    this.check()
    const {writer} = this
    const maxSize = this.opts.file?.maxSize
    const {filters} = this.opts
    let pre: PrestartedTrace | undefined
    try {
      // bpftrace first where its program needs nothing from /proc (--all, --pid): the code that
      // reads it (decoder, sandbox tracker, findings) is imported while it compiles
      if (filters.all || filters.pids.length > 0) {
        pre = prestartTrace({bpftrace: this.bpftrace, filters})
        startMark(pre.plan.launcher ? 'bpftrace spawned (available_events narrowed)' : 'bpftrace spawned')
      }
      const liveMetrics = this.metrics
      const onFinding = this.opts.onFinding
      const [{LiveTrace}, findings] = await Promise.all([
        import('./live-trace.js'),
        this.opts.findings || onFinding || liveMetrics ? import('./live-findings.js') : undefined,
      ])
      startMark('trace code imported')
      if (findings) {
        this.finder = new findings.LiveFindings((f, events) => {
          liveMetrics?.metrics.finding(f, events)
          onFinding?.(f)
        })
      }
      const {finder} = this
      const metrics = this.metrics?.metrics
      const live = new LiveTrace({bpftrace: this.bpftrace, filters, host: this.opts.host, argv: this.opts.argv, log: this.opts.notice, criSocket: more.criSocket ?? this.opts.criSocket, prestarted: pre}, (r) => {
        if (writer) {
          writer.write(r)
          if (writer.error) this.writeFailed(writer.error, writer.where)
          else if (maxSize !== undefined && writer.bytes >= maxSize) void this.stop('max-size')
        }
        onRecord?.(r)
        // after the sinks: a finding's line comes after the event that decides it. Every record,
        // the runtime's own included: a runtime's SIGTERM is part of a story.
        if (metrics) {
          if (r.type === 'header') metrics.header(r, live.session.attachedProbes)
          else metrics.observe(r)
        }
        finder?.push(r)
      })
      this.live = live
      const header = await live.start()
      writer?.flush()
      startMark('header written')
      if (this.opts.durationMs !== undefined) this.timer = setTimeout(() => void this.stop('duration'), this.opts.durationMs)
      return header
    } catch (err) {
      // Nothing was traced: the terminal back first, then no empty file left to block the next run.
      this.release()
      this.live?.kill()
      // started, but no session took it (the code that reads it failed to load)
      if (pre && !this.live) {
        pre.runner.kill()
        pre.plan.cleanup()
      }
      await writer?.discard()
      throw err
    }
  }

  /** Stops the trace for a reason (the first reason given wins); nothing to stop before start(). */
  async stop(reason: StopReason): Promise<void> {
    await this.live?.stop(reason)
  }

  /** Resolves when the trace has ended, for whatever reason (start() first). */
  done(): Promise<LiveResult> {
    return (this.live as LiveTrace).done()
  }

  /**
   * Once the trace has ended: the footer to the file (and to `drain`, which also waits for the
   * sinks' own output), the file closed, the terminal given back, the summary printed. Throws the
   * write failure, if any, instead of the summary.
   */
  async finish(drain?: (footer: FooterRecord) => Promise<void> | void): Promise<LiveEnd> {
    const live = this.live as LiveTrace
    const result = await live.done()
    const footer = live.footer(result)
    this.finder?.finish(footer)
    const {writer} = this
    writer?.write(footer)
    await drain?.(footer)
    if (writer) {
      let closeError: Error | undefined
      await writer.close().catch((err: Error) => {
        closeError = err
      })
      const failed = writer.error ?? closeError
      if (failed && !this.failure) this.failure = writeFailedError(writer.where, failed)
    }
    this.release()
    this.check()
    if (this.opts.summary) this.opts.summary.log(live.summary(result, this.opts.summary.where))
    return {result, footer, totals: live.totals(result)}
  }

  /** Throws the write failure, if a sink had one. */
  check(): void {
    if (this.failure) throw this.failure
  }

  /** Ends bpftrace now (SIGKILL): for paths that stop without waiting. */
  kill(): void {
    this.live?.kill()
  }

  /** On every way out: the timer, the signal handlers, the terminal, bpftrace. */
  dispose(): void {
    clearTimeout(this.timer)
    this.offSignals()
    this.release()
    this.live?.kill()
    void this.metrics?.server.close()
  }

  private release(): void {
    for (const fn of this.releases.splice(0)) fn()
  }
}
