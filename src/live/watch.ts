// `watch`: one live trace shown as it happens. On a terminal the Ink timeline (fed by the same
// Timeline model as every view); elsewhere one plain text line per record, as `replay --text`
// prints them. `--record FILE` also writes the trace file `record` would write.
import {Timeline} from '../model/timeline.js'
import type {Filters} from '../events/filter.js'
import type {StdoutSink} from '../record/stdout.js'
import {formatRecord} from '../ui/text-line.js'
import {SandboxNames} from '../ui/sandbox-names.js'
import {RuntimeNoiseFold} from '../events/runtime-procs.js'
import {ViewState} from '../ui/view-state.js'
import type {LiveRecord, TraceTotals} from './live-trace.js'
import {LiveRun} from './run.js'
import {findingLine} from '../findings/format.js'
import type {FindingRecord} from '../events/types.js'
import type {MetricsAddress} from '../metrics/server.js'
import type {BpftraceInfo} from '../probe/bpftrace.js'

export interface WatchOptions {
  filters: Filters
  /** also write the trace file here */
  record?: string
  force?: boolean
  bpftrace?: string
  /** the version probe of that bpftrace, already started */
  bpftraceProbe?: Promise<BpftraceInfo>
  /** --cri-socket */
  criSocket?: string
  argv: string[]
  host: string
  /** 'tty': the Ink view; 'lines': one text line per record on stdout */
  mode: 'tty' | 'lines'
  /** where notices and the closing summary go (default stderr) */
  log?: (line: string) => void
  /** show the events among the runtime's own processes (folded away by default; --record keeps them) */
  runtimeNoise?: boolean
  /** --metrics */
  metrics?: {address: MetricsAddress; expiryMs: number}
}

export interface WatchResult extends TraceTotals {
  record?: string
}

/** Whether `watch` should draw the Ink view: both ends a terminal, TERM not dumb, not under CI (as Ink itself decides). */
export function wantsTty(env: NodeJS.ProcessEnv = process.env, stdout: {isTTY?: boolean} = process.stdout, stdin: {isTTY?: boolean} = process.stdin): boolean {
  const ci = env.CI !== '0' && env.CI !== 'false' && ('CI' in env || 'CONTINUOUS_INTEGRATION' in env || Object.keys(env).some((k) => k.startsWith('CI_')))
  return Boolean(stdout.isTTY && stdin.isTTY) && env.TERM !== 'dumb' && !ci
}

/**
 * Plain lines on stdout, written in one batch per turn of the event loop (prompt, and cheap at
 * high rates). A closed pipe (`watch | head`) stops the trace instead of failing; any other
 * failed write (a full disk behind `> file`) fails the run as a trace file's would (exit 3).
 */
class LineSink {
  private buf: string[] = []
  private scheduled = false
  closed = false

  private readonly out: StdoutSink

  constructor(run: LiveRun, onClosed: () => void) {
    this.out = run.stdout((err, out) => {
      this.closed = true
      if (err.code === 'EPIPE') onClosed()
      else run.writeFailed(err, out.file ?? 'stdout')
    })
  }

  push(line: string): void {
    if (this.closed) return
    this.buf.push(line)
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => this.flush())
    }
  }

  flush(): void {
    this.scheduled = false
    if (this.buf.length === 0 || this.closed) return
    const text = this.buf.join('')
    this.buf = []
    this.out.line(text)
  }

  /** Resolves once everything written so far has left the process. */
  drained(): Promise<void> {
    this.flush()
    if (this.closed) return Promise.resolve()
    return this.out.drained()
  }
}

export async function watchTrace(opts: WatchOptions): Promise<WatchResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`))
  const state = new ViewState(new Timeline())
  const tty = opts.mode === 'tty'
  let onFinding: (f: FindingRecord) => void = () => undefined
  const run = await LiveRun.open({
    onFinding: (f) => onFinding(f),
    metrics: opts.metrics,
    bpftrace: opts.bpftrace,
    bpftraceProbe: opts.bpftraceProbe,
    criSocket: opts.criSocket,
    filters: opts.filters,
    host: opts.host,
    argv: opts.argv,
    notice: tty ? (l) => state.setNotice(l) : log,
    file: opts.record ? {path: opts.record, force: opts.force} : undefined,
    summary: {log, where: opts.record ?? (tty ? 'the terminal' : 'stdout')},
    readsStdin: tty,
  })
  try {
    const stop = (): void => void run.stop('interrupt')
    let view: {update(urgent?: boolean): void; stop(): void} | undefined
    let lines: LineSink | undefined
    let startedMs = 0
    if (tty) {
      // Ink is loaded only for the terminal view: piped output starts faster without it.
      const {LiveView} = await import('../ui/live-view.js')
      const v = new LiveView({
        state,
        onQuit: stop,
        now: () => (startedMs ? Math.max(state.timeline.lastT, (Date.now() - startedMs) * 1e6) : 0),
      })
      v.start()
      view = v
      run.onRelease(() => v.stop())
    } else lines = new LineSink(run, stop)
    // the lines name pods from the sandbox records that came before them
    const names = new SandboxNames()
    const noise = new RuntimeNoiseFold(opts.runtimeNoise)

    // findings as the events decide them: a line among the event lines, or the view's findings
    onFinding = (f) => {
      if (view) {
        // a finding is drawn at once (within the 100 ms between frames), not when the frame budget allows
        state.addFinding(f)
        view.update(true)
      } else lines?.push(`${findingLine(f)}\n`)
    }
    await run.start((r: LiveRecord) => {
      if (r.type === 'header') startedMs = Date.parse(r.startedAt)
      if (noise.hides(r)) return
      if (view) {
        // "no sandbox matches yet" holds until one comes
        if (r.type === 'sandbox' && state.notice) state.setNotice(undefined)
        state.feed(r)
        view.update()
      } else if (lines && (r.type === 'event' || r.type === 'lost')) lines.push(`${formatRecord(r, names.label)}\n`)
      else if (r.type === 'sandbox') names.feed(r)
    })
    if (run.metricsUrl) (tty ? (l: string) => state.setNotice(l) : log)(`pausetrace: metrics at ${run.metricsUrl}`)
    const {totals} = await run.finish(async (footer) => {
      state.feed(footer)
      await lines?.drained()
    })
    const folded = noise.notice()
    if (folded) log(folded)
    return {...totals, record: opts.record}
  } finally {
    run.dispose()
  }
}
