// Findings from a stream of trace records: one set of rules per trace (per node in a merged
// replay), fed in time order; a finding is given to `onFinding` as soon as the events decide it
// (some need time to pass: a zombie that stays, a flood that ends, a pause's last SIGKILLs).
// Pure: no I/O. Live traces feed it their records, `explain` the records of files.
import type {FooterRecord, TraceRecord} from '../events/types.js'
import {withKnownPod} from '../events/sandbox-record.js'
import {FindingContext, type Found, type Rule} from './context.js'
import {StopRule} from './stop.js'
import {ZombieRule} from './zombies.js'
import {PauseRule} from './pause.js'
import {CrashLoopRule} from './crash-loop.js'
import {OomRule} from './oom.js'
import {FloodRule} from './flood.js'

export type {Found} from './context.js'

/** Every kind a finding may have, in the order of docs/findings.md. */
export const FINDING_KINDS = ['grace-period-exhausted', 'sigterm-ignored-by-pid1', 'zombies', 'pause-died', 'sandbox-recreated', 'signal-to-pause-ignored', 'oom-kill', 'crash-loop', 'signal-flood'] as const

interface Trace {
  ctx: FindingContext
  rules: Rule[]
  /** the wall-clock time of the latest event, to place the footer on the trace's clock */
  lastTs?: string
  ended: boolean
}

export class FindingsEngine {
  private traces = new Map<number, Trace>()

  /** `hostOf`: the node's name per source, when findings come from several */
  constructor(private readonly onFinding: (f: Found, source: number) => void, private readonly hostOf?: (source: number) => string | undefined) {}

  private trace(source: number): Trace {
    let tr = this.traces.get(source)
    if (!tr) {
      const ctx = new FindingContext((f) => this.onFinding(f, source), this.hostOf?.(source))
      tr = {ctx, rules: [new StopRule(ctx), new ZombieRule(ctx), new PauseRule(ctx), new CrashLoopRule(ctx), new OomRule(ctx), new FloodRule(ctx)], ended: false}
      this.traces.set(source, tr)
    }
    return tr
  }

  push(r: TraceRecord, source = 0): void {
    const tr = this.trace(source)
    if (tr.ended) return
    switch (r.type) {
      case 'sandbox': {
        const earlier = tr.ctx.sandboxes.get(r.id)
        tr.ctx.sandboxes.set(r.id, withKnownPod(r, earlier))
        for (const rule of tr.rules) rule.sandbox?.(r, earlier)
        break
      }
      case 'event':
        this.advance(tr, r.t)
        tr.lastTs = r.ts
        for (const rule of tr.rules) rule.event(r)
        break
      case 'lost':
        this.advance(tr, r.t)
        for (const rule of tr.rules) rule.lost?.(r.t)
        break
      case 'footer':
        this.end(tr, r)
        break
    }
  }

  /** Time passed with no record (a live trace's clock): findings that wait for it are decided. */
  tick(t: number, source = 0): void {
    this.advance(this.trace(source), t)
  }

  /** The end of every trace not ended by its footer (a file cut short, a live trace stopped). */
  finish(): void {
    for (const tr of this.traces.values()) this.end(tr)
  }

  private advance(tr: Trace, t: number): void {
    if (t < tr.ctx.now) return
    tr.ctx.now = t
    for (const rule of tr.rules) rule.advance?.(t)
  }

  private end(tr: Trace, footer?: FooterRecord): void {
    if (tr.ended) return
    // the footer's wall clock, on the trace's: how long the trace went on after its last event
    const after = footer && tr.lastTs ? Date.parse(footer.endedAt) - Date.parse(tr.lastTs) : NaN
    const now = tr.ctx.now + (Number.isFinite(after) && after > 0 ? Math.round(after * 1e6) : 0)
    this.advance(tr, now)
    for (const rule of tr.rules) rule.end?.(now)
    tr.ended = true
  }
}
