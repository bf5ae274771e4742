// A lane's one-line summary (zombie or exit → reap, floods, reaps, signals by fate), exact even
// for what scrolled out of its track, and a sandbox's title line.
import type {GapItem, Lane, SandboxState, SignalState} from '../model/timeline.js'
import {HOST_SANDBOX} from '../model/timeline.js'
import {SIGNAL_STATES, shownState} from './signal-state.js'
import {duration, exitText, procLabel} from './words.js'
import {attemptText, podLabel} from './sandbox-names.js'

const STATE_ORDER = Object.keys(SIGNAL_STATES) as SignalState[]

/** The lane's summary, most important first: zombie or exit → reap, floods, reaps, signals by fate. */
export function laneSummary(lane: Lane, now: number, gaps: GapItem[] = []): string[] {
  const out: string[] = []
  const x = lane.exit
  if (x) {
    const r = x.released
    // events lost after the exit may have held its reap
    const unsure = gaps.some((g) => (g.endT ?? now) >= x.t) ? '?' : ''
    if (!r) out.push(`zombie${unsure} ${duration(now - x.t)} (parent ${x.parent ? procLabel(x.parent) : 'unknown'})`)
    else if (r.how === 'reaped') out.push(`${exitText(x)}, reaped by ${procLabel(r.reap.ev.reaper)} in ${duration(r.reap.t - x.t)}`)
    else if (r.how === 'namespace-ended') out.push(`${exitText(x)}, released with its PID namespace`)
    else out.push(`${exitText(x)}, reaped unseen`)
  }
  for (const [sig, n] of lane.flooded) out.push(`flood ${sig} ×${n}`)
  if (lane.reaped > 0 && lane.lastReap) {
    const last = lane.lastReap
    out.push(`reaped ${lane.reaped}${last.latency !== undefined ? `, last ${procLabel(last.ev.child)} in ${duration(last.latency)}` : ''}`)
  }
  // Signals by name and fate, by the state's word: ignored and merged ones are exact counts, the
  // fate of queued ones is read from the items still in the lane.
  const fates = new Map<string, {order: number; n: number}>()
  const add = (signame: string, state: SignalState, n: number): void => {
    const k = `${signame} ${SIGNAL_STATES[state].word}`
    const f = fates.get(k)
    if (f) {
      f.n += n
      f.order = Math.min(f.order, STATE_ORDER.indexOf(state))
    } else fates.set(k, {order: STATE_ORDER.indexOf(state), n})
  }
  // (keyed `${signame} ${state}` by the model; the queued ones are told by the items)
  for (const [k, n] of lane.received) if (!k.endsWith(' queued')) add(k.slice(0, k.lastIndexOf(' ')), k.slice(k.lastIndexOf(' ') + 1) as SignalState, n)
  // (a fatal one is told by the exit)
  for (const it of lane.items) if (it.kind === 'signal' && it.ev.result === 'delivered' && !it.fatal) add(it.ev.signame, shownState(it, now), 1)
  for (const [k, {n}] of [...fates].sort((a, b) => a[1].order - b[1].order)) out.push(`${k}${n > 1 ? ` ×${n}` : ''}`)
  return out
}

/** The sandbox title line: pod (and the sandbox it replaced), runtime, PID namespace layout, id, counts. */
export function sandboxTitle(sb: SandboxState, hidden = 0): string {
  const r = sb.record
  const more = hidden > 0 ? ` (+${hidden} more process${hidden === 1 ? '' : 'es'})` : ''
  if (sb.id === HOST_SANDBOX) return `host (processes outside any sandbox)${more} · ${sb.counts.events} events`
  const name = r ? `${podLabel(r)}${attemptText(r)}` : sb.id
  const parts = [name + more]
  if (r) parts.push(r.runtime, r.sharedPidNamespace ? 'shared PID ns' : 'own PID ns')
  if (r?.pod) parts.push(sb.id)
  if (r && !r.pausePid) parts.push('no pause process')
  parts.push(`${sb.counts.events} event${sb.counts.events === 1 ? '' : 's'}`)
  if (sb.counts.zombies > 0) parts.push(`${sb.counts.zombies} zombie${sb.counts.zombies === 1 ? '' : 's'}`)
  return parts.join(' · ')
}
