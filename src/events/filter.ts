// The user-side filters on events (the kernel applies the same ones where it can).
import type {ProcRef, TraceEvent} from './types.js'

export function procsOf(e: TraceEvent): ProcRef[] {
  switch (e.kind) {
    case 'signal':
      return e.to ? [e.from, e.to] : [e.from]
    case 'flood':
      return [e.from, e.to]
    case 'reap':
      return [e.reaper, e.child]
    case 'fork':
      return [e.parent, e.child]
    default:
      return [e.proc]
  }
}

/** True when the event involves one of the PIDs (host PIDs) and one of the signals (when given). */
export function eventMatches(e: TraceEvent, pids: ReadonlySet<number>, signals: ReadonlySet<number>): boolean {
  if (pids.size > 0 && !procsOf(e).some((p) => pids.has(p.pid))) return false
  if (signals.size > 0) {
    if (e.kind !== 'signal' && e.kind !== 'deliver' && e.kind !== 'flood') return false
    if (!signals.has(e.sig)) return false
  }
  return true
}
