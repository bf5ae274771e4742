// The live view's own state over a timeline store: selection, text filter, help, detail pane,
// the findings and their pane, notice, and the pause queue in front of the store; the snapshot a
// frame is drawn from.
import type {FindingRecord, FooterRecord, HeaderRecord, TraceRecord} from '../events/types.js'
import {HOST_SANDBOX, type Counters, type GapItem, type SandboxState, type Timeline} from '../model/timeline.js'

export interface UiState {
  selected?: string
  details: boolean
  help: boolean
  /** the findings pane (`f`) in the body's place */
  findings: boolean
  paused: boolean
  /** the text filter in effect */
  filter: string
  /** the filter being typed after `/` (applied as typed) */
  editing: boolean
  /** the detail entry shown: 0 = the newest */
  entry: number
}

export interface ViewOptions {
  /** records queued while paused before the oldest are applied anyway; default 50,000 */
  pausedQueue?: number
}

/** What one frame shows, taken at `now`. */
export interface ViewSnapshot {
  header?: HeaderRecord
  footer?: FooterRecord
  now: number
  /** the time window shown, ns since the trace started */
  window: {from: number; to: number}
  /** the store's counters, and the events and losses waiting while paused */
  counters: Readonly<Counters>
  /** records waiting while paused */
  queued: number
  sandboxes: SandboxState[]
  totalSandboxes: number
  selected?: SandboxState
  gaps: GapItem[]
  ui: Readonly<UiState>
  notice?: string
  /** the findings so far, oldest first */
  findings: readonly FindingRecord[]
}

/** Findings the view keeps (the trace file and `explain` have them all). */
const MAX_FINDINGS = 200

const SPANS_S = [1, 2, 5, 10, 20, 30, 60, 120, 300]

/** The nice span (1 s … 5 min) that holds [0, now]; past 5 minutes the window slides. */
export function windowFor(now: number): {from: number; to: number} {
  const span = (SPANS_S.find((s) => s * 1e9 >= now) ?? SPANS_S[SPANS_S.length - 1]) * 1e9
  return {from: Math.max(0, now - span), to: Math.max(now, span)}
}

export class ViewState {
  readonly ui: UiState = {details: false, help: false, findings: false, paused: false, filter: '', editing: false, entry: 0}
  /** a one-line message for the user (from the pipeline) */
  notice?: string
  /** the findings so far, oldest first (at most MAX_FINDINGS) */
  readonly findings: FindingRecord[] = []

  private readonly pausedQueue: number
  /** records that arrived while paused, in order */
  private readonly queue: TraceRecord[] = []
  /** the events and losses among them: the header counts them at once */
  private readonly waiting = {events: 0, lost: 0}

  constructor(
    readonly timeline: Timeline,
    opts: ViewOptions = {},
  ) {
    this.pausedQueue = opts.pausedQueue ?? 50_000
    // the sandbox the user is looking at stays when the store has to drop one
    timeline.keep = (id) => id === this.ui.selected
  }

  /**
   * Feeds the store through the view: while paused, records wait (the header and footer excepted)
   * so that what is shown stays still; past the queue's bound the oldest go in anyway, so memory
   * stays bounded in a flood.
   */
  feed(rec: TraceRecord): void {
    if (!this.ui.paused || rec.type === 'header' || rec.type === 'footer') {
      this.timeline.feed(rec)
      return
    }
    this.queue.push(rec)
    this.count(rec, 1)
    if (this.queue.length > this.pausedQueue) this.release(this.queue.shift() as TraceRecord)
  }

  feedAll(recs: Iterable<TraceRecord>): this {
    for (const r of recs) this.feed(r)
    return this
  }

  private count(rec: TraceRecord, sign: 1 | -1): void {
    if (rec.type === 'event') this.waiting.events += sign
    else if (rec.type === 'lost') this.waiting.lost += sign * rec.count
  }

  private release(rec: TraceRecord): void {
    this.count(rec, -1)
    this.timeline.feed(rec)
  }

  /** Whether a sandbox passes the text filter (pod, namespace, id, runtime, a process name or PID). */
  matches(sb: SandboxState, text = this.ui.filter): boolean {
    const q = text.trim().toLowerCase()
    if (!q) return true
    const r = sb.record
    const words = [sb.id, r?.runtime, r?.pod?.name, r?.pod?.namespace, ...[...sb.lanes.values()].flatMap((l) => [l.proc.comm, String(l.pid)])]
    return words.some((w) => w !== undefined && w !== null && w.toLowerCase().includes(q))
  }

  /** Sandboxes in display order (first seen first, the host group last) that pass the filter. */
  visible(): SandboxState[] {
    return [...this.timeline.sandboxes.values()].filter((sb) => this.matches(sb)).sort((a, b) => (a.id === HOST_SANDBOX ? 1 : 0) - (b.id === HOST_SANDBOX ? 1 : 0) || a.seq - b.seq)
  }

  snapshot(now: number): ViewSnapshot {
    const tl = this.timeline
    const list = this.visible()
    const selected = list.find((s) => s.id === this.ui.selected) ?? list[0]
    const window = windowFor(now)
    const w = this.waiting
    return {
      header: tl.header,
      footer: tl.footer,
      now,
      window,
      counters: w.events === 0 && w.lost === 0 ? tl.counters : {...tl.counters, events: tl.counters.events + w.events, lost: tl.counters.lost + w.lost},
      queued: this.queue.length,
      sandboxes: list,
      totalSandboxes: tl.sandboxes.size,
      selected,
      gaps: tl.gaps.filter((g) => (g.endT ?? now) >= window.from),
      ui: {...this.ui, selected: selected?.id},
      notice: this.notice,
      findings: this.findings,
    }
  }

  // --- what the keys do ------------------------------------------------------------------------

  /** Moves the selection by `delta` sandboxes in the visible list. */
  select(delta: number): void {
    const list = this.visible()
    if (list.length === 0) return
    // with no selection (or one filtered out) the view shows the first as selected
    const i = Math.max(0, list.findIndex((s) => s.id === this.ui.selected))
    const next = Math.min(list.length - 1, Math.max(0, i + delta))
    if (list[next].id !== this.ui.selected) this.ui.entry = 0
    this.ui.selected = list[next].id
  }

  /** Moves the detail entry: +1 = older, -1 = newer. */
  moveEntry(delta: number): void {
    const sb = this.visible().find((s) => s.id === this.ui.selected) ?? this.visible()[0]
    const n = sb?.entries.length ?? 0
    this.ui.entry = Math.min(Math.max(0, n - 1), Math.max(0, this.ui.entry + delta))
  }

  toggleDetails(): void {
    this.ui.details = !this.ui.details
    this.ui.entry = 0
  }

  toggleHelp(): void {
    this.ui.help = !this.ui.help
    if (this.ui.help) this.ui.findings = false
  }

  /** The findings pane: every finding kept, with its advice (closes the help). */
  toggleFindings(): void {
    this.ui.findings = !this.ui.findings
    if (this.ui.findings) this.ui.help = false
  }

  beginFilter(): void {
    this.ui.editing = true
  }

  /** The filter as typed so far (applied at once). */
  setFilter(text: string): void {
    this.ui.filter = text
  }

  endFilter(keep: boolean): void {
    this.ui.editing = false
    if (!keep) this.ui.filter = ''
  }

  /** Pause freezes what is shown: records wait in a queue (counted at once) until resume applies them in order. */
  setPaused(paused: boolean): void {
    if (this.ui.paused === paused) return
    this.ui.paused = paused
    if (!paused) for (const r of this.queue.splice(0)) this.release(r)
  }

  setNotice(text: string | undefined): void {
    this.notice = text
  }

  /** A finding of the live trace (src/findings/), the newest last; the view shows the latest. */
  addFinding(f: FindingRecord): void {
    this.findings.push(f)
    if (this.findings.length > MAX_FINDINGS) this.findings.shift()
  }
}
