// One live trace: bpftrace → lines → records → decoder → the caller's sink. Starts, reports
// "attached" when the BEGIN marker arrives, stops for a reason, and returns the accounting.
import os from 'node:os'
import {hasRawTracepoints, kernelHasPidFlexArray, type BpftraceInfo} from '../probe/bpftrace.js'
import {BpftraceRunner, STOP_STEP_MS, type RunnerExit} from '../probe/runner.js'
import {LineSplitter, type LineSink} from '../stream/lines.js'
import {parseBpftraceLine} from '../stream/bpftrace-json.js'
import {Decoder, type DecodedRecord, type DecoderStats} from '../events/decoder.js'
import type {Classifier, ProcResolver} from '../events/process-info.js'
import {EnvironmentError} from '../errors.js'
import type {StopReason} from '../events/types.js'
import type {Filters} from '../events/filter.js'
import {nsInode} from '../proc/read.js'
import {planTrace, type PrestartedTrace, type TracePlan} from './plan.js'
import {isLauncherFailure} from '../probe/events-view.js'
import {startMark} from '../util/start-log.js'
import {pageOutCompiler, type PageOutResult} from '../probe/pageout.js'

/** the decoder's clock, while bpftrace's output comes */
const TICK_MS = 100
/**
 * Ticks with no output of bpftrace's before the clock stops: by then the decoder holds nothing a
 * tick could release (lines wait at most the heartbeat cap, 5 s, held reaps up to the reorder
 * window's 2 s more); the next output starts it again. A trace with nothing to trace never wakes
 * node up for it.
 */
const IDLE_TICKS = 150

export interface SessionOptions {
  bpftrace: BpftraceInfo
  filters: Filters
  onRecord: (rec: DecodedRecord) => void
  resolver?: ProcResolver
  classifier?: Classifier
  kernelRelease?: string
  stopStepMs?: number
  /** tasks in sandboxes at the start (default scope), from a /proc snapshot: asked for only when the program needs them */
  sandboxSeed?: () => number[]
  /**
   * Called once bpftrace is spawned, before any of its output is read: the work the program does
   * not need (the /proc scan under --all or --pid) runs while bpftrace compiles, not before it starts.
   */
  afterSpawn?: () => void
  /** bpftrace already started from the default plan (LiveRun, before this code was loaded): the first attempt reads it */
  prestarted?: PrestartedTrace
}

export interface SessionResult {
  reason: StopReason
  exit: RunnerExit
  stats: DecoderStats
  countsVerified: boolean
  lost: number
}

export class TraceSession {
  private runner?: BpftraceRunner
  private decoder?: Decoder
  /** bpftrace's count of attached probes, once it said */
  get attachedProbes(): number | undefined {
    return this.decoder?.attachedProbes
  }
  private reason?: StopReason
  private stopping?: Promise<SessionResult>
  private ticker?: NodeJS.Timeout
  /** ticks since bpftrace's output last came */
  private idleTicks = 0
  /** the clock runs once attached (set then) */
  private startTicker?: () => void
  private lost = 0
  startedAt = new Date()
  /** the page-out of bpftrace's compiler libraries, once asked (awaited before the end: no perl outlives a trace) */
  pageOut?: Promise<PageOutResult | undefined>

  private prestarted?: PrestartedTrace

  constructor(private readonly opts: SessionOptions) {
    this.prestarted = opts.prestarted
  }

  /** Starts bpftrace; resolves once every probe is attached. */
  async start(): Promise<void> {
    const release = this.opts.kernelRelease ?? os.release()
    let flex = kernelHasPidFlexArray(release)
    let raw = hasRawTracepoints(this.opts.bpftrace)
    let view = true
    for (let attempt = 0; ; attempt++) {
      try {
        await this.attach(flex, raw, view)
        return
      } catch (err) {
        // A wrong guess of the struct pid layout shows as a wrong namespace in the marker.
        if (err instanceof LayoutError && attempt === 0) flex = !flex
        // unshare could not make the narrowed view's mount namespace: bpftrace without it
        else if (view && err instanceof EnvironmentError && err.code === 'LAUNCHER_FAILED') {
          view = false
          startMark(`${err.message}; bpftrace started again without the narrowed available_events`)
        }
        // A raw tracepoint this bpftrace or kernel cannot attach: the tracepoint form does the job.
        else if (raw && err instanceof EnvironmentError && err.code === 'PROBE_UNAVAILABLE') raw = false
        else throw err
      } finally {
        this.removeTempFiles()
      }
    }
  }

  /** Whether the running program reads signal targets in the kernel (rawtracepoint form). */
  rawSignalGenerate = false
  private plan?: TracePlan

  private removeTempFiles(): void {
    this.plan?.cleanup()
  }

  private async attach(pidFlexArray: boolean, rawSignalGenerate: boolean, eventsView: boolean): Promise<void> {
    const {bpftrace, filters} = this.opts
    this.rawSignalGenerate = rawSignalGenerate
    const pre = this.prestarted
    this.prestarted = undefined
    const usable = pre !== undefined && pre.plan.pidFlexArray === pidFlexArray && pre.plan.rawSignalGenerate === rawSignalGenerate && (eventsView || !pre.plan.launcher)
    if (pre && !usable) {
      pre.runner.kill()
      pre.plan.cleanup()
    }
    const sandboxScope = !filters.all && filters.pids.length === 0
    const plan = usable ? pre.plan : planTrace({bpftrace, filters, sandboxSeed: sandboxScope ? this.opts.sandboxSeed?.() : undefined, pidFlexArray, rawSignalGenerate, eventsView})
    this.plan = plan
    if (!usable) startMark(`program planned: ${plan.program.length} bytes`)
    const wallOffsetMs = Date.now() - Number(process.hrtime.bigint() / 1000n) / 1000
    // the program prints heartbeats (bpf/control.bt): lines are released in time order across CPUs
    const decoder = new Decoder({wallOffsetMs, heartbeats: true, resolver: this.opts.resolver, classifier: this.opts.classifier})
    const runner = usable ? pre.runner : new BpftraceRunner({command: plan.command, launcher: plan.launcher, program: plan.program, params: plan.params, extraArgs: plan.extraArgs, env: plan.env, stopStepMs: this.opts.stopStepMs})
    this.decoder = decoder
    this.runner = runner
    const splitter = new LineSplitter()
    let begun = false
    let attachedResolve!: () => void
    const attached = new Promise<void>((resolve) => {
      attachedResolve = resolve
    })
    const emit = (recs: DecodedRecord[]): void => {
      for (const r of recs) {
        if (r.type === 'lost') this.lost += r.count
        this.opts.onRecord(r)
      }
    }
    // each line straight to the decoder as it is split (no list of lines per read)
    const lines: LineSink = {
      line: (text) => {
        const rec = parseBpftraceLine(text)
        if (rec) emit(decoder.push(rec))
      },
      overlong: () => emit(decoder.pushOverlong()),
    }
    runner.on('data', (chunk: Buffer) => {
      this.idleTicks = 0
      if (!this.ticker) this.startTicker?.()
      splitter.feed(chunk, lines)
      if (decoder.marker && !begun) {
        begun = true
        startMark('BEGIN line read')
        attachedResolve()
      }
    })
    runner.on('exit', () => {
      splitter.finish(lines)
      emit(decoder.finish())
    })
    if (!usable) {
      runner.start()
      startMark(plan.launcher ? 'bpftrace spawned (available_events narrowed)' : 'bpftrace spawned')
    }
    // synchronous: no output of bpftrace's is decoded before it has run
    this.opts.afterSpawn?.()
    // what a prestarted bpftrace said so far, now that its reader is ready
    if (usable) runner.release()
    const exitedEarly = runner.wait().then((e) => e)
    const first = await Promise.race([attached.then(() => 'attached' as const), exitedEarly])
    if (first !== 'attached') {
      if (plan.launcher && isLauncherFailure(first.stderrTail)) throw new EnvironmentError(`unshare could not run bpftrace in a mount namespace of its own: ${first.stderrTail}`, 'LAUNCHER_FAILED')
      throw new EnvironmentError(
        `bpftrace could not start the probes (exit ${first.code ?? first.signal}): ${first.stderrTail || 'no message'}. Run \`pausetrace doctor\` to see which check fails.`,
        'PROBE_UNAVAILABLE',
      )
    }
    this.startedAt = new Date(decoder.startWallMs)
    const hostPidns = nsInode('self', 'pid')
    if (hostPidns && decoder.marker && decoder.marker.pidns !== hostPidns && decoder.marker.pidns !== 0) {
      await runner.stop()
      throw new LayoutError()
    }
    this.startTicker = () => {
      this.ticker = setInterval(() => {
        if (++this.idleTicks > IDLE_TICKS) this.stopTicker()
        else emit(decoder.tick(process.hrtime.bigint().toString()))
      }, TICK_MS)
      this.ticker.unref()
    }
    this.startTicker()
    // bpftrace's output is now taken in batches while it trickles (runner.ts), not before: the
    // BEGIN line is read at once
    runner.coalesce()
    // bpftrace's compiler is not needed any more: its pages out of bpftrace's memory (pageout.ts)
    if (runner.pid !== undefined) this.pageOut = pageOutCompiler(runner.pid)
  }

  get running(): boolean {
    return this.runner?.running ?? false
  }

  get stats(): DecoderStats | undefined {
    return this.decoder?.stats
  }

  /** Resolves when bpftrace has exited, for whatever reason. */
  async done(): Promise<SessionResult> {
    const runner = this.runner as BpftraceRunner
    const exit = await runner.wait()
    this.startTicker = undefined
    this.stopTicker()
    await this.pageOut
    const decoder = this.decoder as Decoder
    const reason: StopReason = this.reason ?? 'bpftrace-exit'
    return {reason, exit, stats: decoder.stats, countsVerified: decoder.countsVerified, lost: this.lost}
  }

  /** Stops for a reason (the first reason given wins) and resolves when it is done. */
  async stop(reason: StopReason): Promise<SessionResult> {
    this.reason ??= reason
    // Asked once is enough: a second request (a closed terminal sends SIGHUP twice, from the
    // shell and from the kernel; SIGINT then SIGTERM) waits for the first stop instead of
    // starting another, whose first step would end bpftrace before the lines were read.
    if (this.stopping) return this.stopping
    const decoder = this.decoder
    const runner = this.runner
    if (!runner) return this.done()
    const deadline = Date.now() + (this.opts.stopStepMs ?? STOP_STEP_MS)
    this.stopping = runner
      .stop(async () => {
        while (decoder && !decoder.caughtUp && runner.running && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
      })
      .then(() => this.done())
    return this.stopping
  }

  kill(): void {
    this.runner?.kill()
  }

  private stopTicker(): void {
    clearInterval(this.ticker)
    this.ticker = undefined
  }
}

class LayoutError extends Error {}
