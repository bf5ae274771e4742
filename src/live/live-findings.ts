// Findings while a trace runs (watch, record --explain): every record goes to the findings engine
// as it comes, and a clock tick every 250 ms lets findings that wait for time (a zombie that
// stays, a flood that stopped, a pause's last SIGKILLs) be decided without waiting for an event.
import type {FindingRecord, FooterRecord, TraceEvent} from '../events/types.js'
import {FindingsEngine} from '../findings/engine.js'
import type {LiveRecord} from './live-trace.js'

export const FINDINGS_TICK_MS = 250

export class LiveFindings {
  private readonly engine: FindingsEngine
  private timer?: NodeJS.Timeout
  private startedMs = 0
  private lastT = 0
  readonly found: FindingRecord[] = []

  constructor(private readonly onFinding: (f: FindingRecord, events: TraceEvent[]) => void = () => undefined) {
    this.engine = new FindingsEngine((f) => {
      this.found.push(f.record)
      this.onFinding(f.record, f.events)
    })
  }

  push(r: LiveRecord): void {
    if (r.type === 'header') {
      this.startedMs = Date.parse(r.startedAt)
      this.timer = setInterval(() => this.engine.tick(this.now()), FINDINGS_TICK_MS)
      this.timer.unref()
      return
    }
    if ('t' in r && r.t > this.lastT) this.lastT = r.t
    this.engine.push(r)
  }

  /** The trace's time now: its clock started at the header's `startedAt`. */
  private now(): number {
    return Math.max(this.lastT, this.startedMs ? (Date.now() - this.startedMs) * 1e6 : 0)
  }

  /** The trace ended (with its footer, when it has one): what waited for more time is decided now. */
  finish(footer?: FooterRecord): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.engine.tick(this.now())
    if (footer) this.engine.push(footer)
    this.engine.finish()
  }
}
