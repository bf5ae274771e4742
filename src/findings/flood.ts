// `signal-flood`: one sender signalling one target so fast that the kernel counted the signals
// instead of printing each (flood events). One finding per episode of a (sender, target, signal):
// it ends when FLOOD_QUIET_NS pass without a flood event for it (they come every 250 ms while it
// lasts), and says how many were counted, over how long, and how many per second.
import type {FloodEvent, TraceEvent} from '../events/types.js'
import type {FindingContext, Rule} from './context.js'
import {at, duration, place, who} from './words.js'

export const FLOOD_QUIET_NS = 600_000_000

interface Episode {
  events: FloodEvent[]
  count: number
  /** the signals written one by one before and during it */
  run?: Run
}

/** Signals of one (sender, target, signal) written one by one, less than a second apart. */
interface Run {
  first: number
  last: number
  n: number
}

const RUN_GAP_NS = 1_000_000_000
const SIGCHLD = 17

/**
 * One number per (signals or deliveries, sender, target, signal), cheaper to make and look up than
 * a string for every signal of a trace: PIDs are below the kernel's PID_MAX_LIMIT (2^22) and
 * signals at most 64, so the four fit in 52 bits. Anything outside those ranges gets a string.
 */
export function runKey(deliver: boolean, sender: number, target: number, sig: number): number | string {
  if (sender >>> 0 !== sender || target >>> 0 !== target || sig >>> 0 !== sig || sender >= 2 ** 22 || target >= 2 ** 22 || sig >= 2 ** 7) return `${deliver}\0${sender}\0${target}\0${sig}`
  return ((deliver ? 2 ** 22 : 0) + sender) * 2 ** 29 + target * 2 ** 7 + sig
}

export class FloodRule implements Rule {
  private open = new Map<number | string, Episode>()
  private runs = new Map<number | string, Run>()
  private pruned = 0

  constructor(private readonly ctx: FindingContext) {}

  event(e: TraceEvent): void {
    if (e.kind === 'signal' && e.to && e.via !== 'kernel') this.counted(runKey(false, e.from.pid, e.to.pid, e.sig), e.t)
    else if (e.kind === 'deliver') this.counted(runKey(true, e.proc.pid, e.proc.pid, e.sig), e.t)
    // SIGCHLD deliveries come from exits (the kernel sends them): churn, not someone's loop
    if (e.kind !== 'flood' || e.sig === SIGCHLD || (e.from.sandbox === null && e.to.sandbox === null)) return
    const key = runKey(e.of === 'deliver', e.of === 'deliver' ? e.to.pid : e.from.pid, e.to.pid, e.sig)
    const ep = this.open.get(key)
    if (ep) {
      ep.events.push(e)
      ep.count += e.count
    } else this.open.set(key, {events: [e], count: e.count, run: this.runs.get(key)})
  }

  private counted(key: number | string, t: number): void {
    const r = this.runs.get(key)
    if (r && t - r.last <= RUN_GAP_NS) {
      r.last = t
      r.n++
    } else this.runs.set(key, {first: t, last: t, n: 1})
  }

  advance(now: number): void {
    if (now - this.pruned > 5 * RUN_GAP_NS) {
      this.pruned = now
      for (const [k, r] of this.runs) if (now - r.last > RUN_GAP_NS) this.runs.delete(k)
    }
    for (const [key, ep] of this.open) {
      if (now - ep.events[ep.events.length - 1].t < FLOOD_QUIET_NS) continue
      this.open.delete(key)
      this.report(ep)
    }
  }

  end(): void {
    for (const ep of this.open.values()) this.report(ep)
    this.open.clear()
  }

  private report(ep: Episode): void {
    const first = ep.events[0]
    const last = ep.events[ep.events.length - 1]
    // from the first signal of the run written one by one (a flood's first window is "since the start")
    const start = ep.run && ep.run.first <= first.t ? Math.max(first.sinceT, ep.run.first) : first.sinceT
    const single = ep.run ? ep.run.n : 0
    const total = ep.count + single
    const span = Math.max(1, last.t - start)
    const rate = Math.round(total / (span / 1e9))
    const sandbox = first.to.sandbox ?? first.from.sandbox
    const where = sandbox ? `${place(this.ctx.sandbox(sandbox), sandbox)}: ` : ''
    const what = first.of === 'deliver' ? `${first.signame} deliveries to ${who(first.to)}` : `${first.signame} from ${who(first.from)} to ${who(first.to)}`
    this.ctx.emit({
      kind: 'signal-flood', severity: 'warning', sandbox, t: start, until: last.t,
      summary: `${where}${what}: ${total} in ${duration(span)} from ${at(start)}, about ${rate} per second (${ep.count} counted in the kernel, ${single} written one by one).`,
      evidence: ep.events,
      advice: first.of === 'deliver' ? `find what keeps signalling ${first.to.comm || 'it'}` : `find why ${first.from.comm || 'the sender'} sends ${first.signame} in a loop (a retry without back-off, a health check that signals?)`,
    })
  }
}
