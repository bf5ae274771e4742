// `watch`: one live trace shown as it happens. On a terminal the Ink timeline (fed by the same
// Timeline model as every view); elsewhere one plain text line per record, as `replay --text`
// prints them. `--record FILE` also writes the trace file `record` would write.
import type {Timeline as TimelineT} from '../model/timeline.js'
import {Timeline} from '../model/timeline.js'
import {bpftraceInfo} from '../probe/bpftrace.js'
import {assertCanTrace} from '../probe/environment.js'
import type {Filters} from '../events/filter.js'
import {TraceWriter} from '../record/writer.js'
import {formatRecord} from '../ui/text-line.js'
import {onStopSignals} from '../util/signals.js'
import {guardTerminal} from '../util/hangup.js'
import {LiveTrace, type LiveRecord, type TraceTotals} from './live-trace.js'

export interface WatchOptions {
  filters: Filters
  /** also write the trace file here */
  record?: string
  force?: boolean
  bpftrace?: string
  argv: string[]
  host: string
  /** 'tty': the Ink view; 'lines': one text line per record on stdout */
  mode: 'tty' | 'lines'
  /** where notices and the closing summary go (default stderr) */
  log?: (line: string) => void
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
 * high rates). A closed pipe (`watch | head`) stops the trace instead of failing.
 */
class LineSink {
  private buf: string[] = []
  private scheduled = false
  closed = false

  constructor(private readonly out: NodeJS.WritableStream, private readonly onClosed: () => void) {
    out.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') {
        this.closed = true
        this.onClosed()
      }
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
    this.out.write(text)
  }

  /** Resolves once everything written so far has left the process. */
  drained(): Promise<void> {
    this.flush()
    if (this.closed) return Promise.resolve()
    return new Promise((resolve) => this.out.write('', () => resolve()))
  }
}

export async function watchTrace(opts: WatchOptions): Promise<WatchResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`))
  assertCanTrace()
  const info = await bpftraceInfo(opts.bpftrace)
  const writer = opts.record ? TraceWriter.open(opts.record, {force: opts.force}) : undefined
  const timeline: TimelineT = new Timeline()
  let live: LiveTrace | undefined
  const stop = (): void => void live?.stop('interrupt')
  const offSignals = onStopSignals(stop)
  // the terminal closed under the view (or under the summary): a clean stop, as on SIGHUP
  guardTerminal(stop, {stdin: opts.mode === 'tty'})

  let view: {update(): void; stop(): void} | undefined
  let lines: LineSink | undefined
  let startedMs = 0
  if (opts.mode === 'tty') {
    // Ink is loaded only for the terminal view: piped output starts faster without it.
    const {LiveView} = await import('../ui/live-view.js')
    const v = new LiveView({
      timeline,
      onQuit: stop,
      now: () => (startedMs ? Math.max(timeline.lastT, (Date.now() - startedMs) * 1e6) : 0),
    })
    v.start()
    view = v
  } else lines = new LineSink(process.stdout, stop)

  const teardown = (): void => {
    offSignals()
    view?.stop()
  }
  try {
    live = new LiveTrace({bpftrace: info, filters: opts.filters, host: opts.host, argv: opts.argv, log: view ? (l) => timeline.setNotice(l) : log}, (r: LiveRecord) => {
      if (writer) {
        writer.write(r)
        if (writer.error) void live?.stop('error')
      }
      if (r.type === 'header') startedMs = Date.parse(r.startedAt)
      if (view) {
        // "no sandbox matches yet" holds until one comes
        if (r.type === 'sandbox' && timeline.notice) timeline.setNotice(undefined)
        timeline.feed(r)
        view.update()
      } else if (lines && (r.type === 'event' || r.type === 'lost')) lines.push(`${formatRecord(r)}\n`)
    })
    await live.start()
    writer?.flush()
  } catch (err) {
    // Nothing was traced: the terminal back first, then no empty file left to block the next run.
    teardown()
    live?.kill()
    await writer?.discard()
    throw err
  }
  try {
    const result = await live.done()
    const footer = live.footer(result)
    writer?.write(footer)
    timeline.feed(footer)
    await lines?.drained()
    let writeError: Error | undefined
    await writer?.close().catch((err: Error) => {
      writeError = err
    })
    teardown()
    log(live.summary(result, opts.record ?? (view ? 'the terminal' : 'stdout')))
    if (writeError) throw writeError
    return {...live.totals(result), record: opts.record}
  } finally {
    teardown()
    live.kill()
  }
}
