// Mounts the Ink view on a terminal and keeps it current: at most one frame per `intervalMs`
// (100 ms: ≤ 10 frames a second) whatever the event rate, one a second for the clock (ages,
// the window), at once on resize. A frame that costs more than 1/FRAME_BUDGET of that interval
// spaces the next ones out: records coming in redraw at most once per FRAME_BUDGET × its cost, so
// the drawing stays within ~1/FRAME_BUDGET of a core (a 160×48 frame was 20-40 ms of Ink on a
// small busy VM: 0.5-1 s between frames in a flood; drawn 10 times a second it was half of
// watch's CPU; at 1/15 of a core still a fifth of it on the million stream). Since a line is laid
// out from a blank (Line.tsx) a frame costs ~30 % less: 1/40 of a core keeps about the same
// spacing as 1/25 did, for less CPU. While records flood in (more than BUSY_RATE a second
// between two frames) the drawing gets half that, 1/80 of a core: then node shares the CPUs with
// bpftrace and the workload, and every cycle a frame takes is one the decoding may need to keep
// bpftrace's buffer from overflowing (a frame and the garbage it leaves cost ~1.5× what is timed
// around it). Keys and a resize still redraw within `intervalMs`. The
// alternate screen is entered before Ink mounts and left after it unmounts, so the shell's screen
// comes back as it was; keys go to the view's state.
import {createElement} from 'react'
import {render as inkRender, type Instance, type Key} from 'ink'
import {applyKey} from './keys.js'
import type {ViewState} from './view-state.js'
import {WatchApp} from './WatchApp.js'

export interface LiveViewOptions {
  /** the view's state over its timeline; the pipeline feeds records through it (pause) */
  state: ViewState
  /** t now (ns since the trace started) */
  now: () => number
  onQuit: () => void
  stdout?: NodeJS.WriteStream
  stdin?: NodeJS.ReadStream
  intervalMs?: number
  /** use the terminal's alternate screen (default true) */
  altScreen?: boolean
  /** Ink's render (tests pass ink-testing-library's) */
  render?: (node: React.ReactElement) => Pick<Instance, 'rerender' | 'unmount'>
}

/** frames come at most once per this many times the last frame's cost (while records come) */
export const FRAME_BUDGET = 40
/** ... and at most once per this many times its cost while records come faster than BUSY_RATE a second */
export const BUSY_FRAME_BUDGET = 80
/** records a second (between two frames) above which the view counts as flooded */
export const BUSY_RATE = 2000

const ENTER_ALT = '\u001b[?1049h\u001b[H'
const LEAVE_ALT = '\u001b[?1049l'
const SHOW_CURSOR = '\u001b[?25h'

export class LiveView {
  /** frames rendered so far */
  renders = 0
  private instance?: Pick<Instance, 'rerender' | 'unmount'>
  private timer?: NodeJS.Timeout
  private clock?: NodeJS.Timeout
  private lastRender = 0
  /** when the pending frame is due (Date.now() ms) */
  private due = 0
  /** ms the last frame took to draw (React and Ink, synchronous in rerender) */
  private lastCost = 0
  /** update() calls since the last frame, and whether they came faster than BUSY_RATE */
  private asked = 0
  private busy = false
  private stopped = false
  private readonly interval: number
  private readonly stdout: NodeJS.WriteStream
  private readonly stdin: NodeJS.ReadStream

  constructor(private readonly opts: LiveViewOptions) {
    this.interval = opts.intervalMs ?? 100
    this.stdout = opts.stdout ?? process.stdout
    this.stdin = opts.stdin ?? process.stdin
  }

  start(): void {
    const alt = this.opts.altScreen ?? true
    if (alt) this.stdout.write(ENTER_ALT)
    const render =
      this.opts.render ??
      // Ink's own throttle at twice our rate: each frame of ours is drawn at once (and its cost measured)
      ((node: React.ReactElement) => inkRender(node, {stdout: this.stdout, stdin: this.stdin, exitOnCtrlC: false, patchConsole: false, maxFps: Math.max(1, Math.floor(2000 / this.interval))}))
    this.instance = render(this.element())
    this.renders++
    this.lastRender = Date.now()
    this.clock = setInterval(() => this.update(), 1000)
    this.stdout.on('resize', this.onResize)
  }

  private readonly onResize = (): void => this.update(true)

  private readonly onKey = (input: string, key: Key): void => {
    if (applyKey(this.opts.state, input, key) === 'quit') this.opts.onQuit()
    this.update(true)
  }

  private element(): React.ReactElement {
    return createElement(WatchApp, {
      snapshot: this.opts.state.snapshot(this.opts.now()),
      columns: this.stdout.columns || 80,
      rows: this.stdout.rows || 24,
      onKey: this.onKey,
    })
  }

  /**
   * Something changed: a frame follows (never two within `intervalMs`), within `intervalMs` when
   * `urgent` (the user's key, a resize), else once the last frame's cost allows (FRAME_BUDGET, or
   * BUSY_FRAME_BUDGET while records flood in).
   */
  update(urgent = false): void {
    if (this.stopped) return
    this.asked++
    const gap = urgent ? this.interval : Math.max(this.interval, this.lastCost * (this.busy ? BUSY_FRAME_BUDGET : FRAME_BUDGET))
    const due = this.lastRender + gap
    if (this.timer) {
      if (due >= this.due) return
      clearTimeout(this.timer)
    }
    this.due = due
    this.timer = setTimeout(() => {
      this.timer = undefined
      if (this.stopped || !this.instance) return
      const now = Date.now()
      this.busy = this.asked * 1000 > BUSY_RATE * Math.max(1, now - this.lastRender)
      this.asked = 0
      this.lastRender = now
      this.renders++
      const t0 = performance.now()
      this.instance.rerender(this.element())
      this.lastCost = performance.now() - t0
    }, Math.max(0, due - Date.now()))
  }

  /** Unmounts (Ink gives the terminal back its mode) and leaves the alternate screen. */
  stop(): void {
    if (this.stopped) return
    this.stopped = true
    clearTimeout(this.timer)
    clearInterval(this.clock)
    this.stdout.off('resize', this.onResize)
    this.instance?.unmount()
    if (this.opts.altScreen ?? true) this.stdout.write(SHOW_CURSOR + LEAVE_ALT)
  }
}
