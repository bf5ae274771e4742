// Flood deltas: the kernel counts floods (the same sender, target and signal at a high rate) in
// the @flood and @dflood maps and bpftrace prints their cumulative totals; each increase since
// the last print becomes one flood event covering the time since then.
import type {EventTime} from './event-time.js'
import type {ProcessTable} from './process-table.js'
import {signalName} from './names.js'
import type {FloodEvent} from './types.js'
import type {MapEntry} from '../stream/bpftrace-json.js'

/** The floods' counter in DecoderStats. */
export interface FloodCounters {
  /** signals counted in flood events (not deliveries) */
  flooded: number
}

export class FloodDeltas {
  /** last total per map entry (`<map>:<key>`) */
  private readonly totals = new Map<string, number>()
  /** t of the last increase per map entry */
  private readonly since = new Map<string, number>()

  constructor(
    private readonly counters: FloodCounters,
    private readonly processes: ProcessTable,
    private readonly time: EventTime,
  ) {}

  /** One print of @flood (key: sender pid, target tid, signal) or @dflood (key: pid, signal). */
  events(t: number, map: string, entries: MapEntry[]): FloodEvent[] {
    const of = map === '@flood' ? 'signal' : 'deliver'
    const out: FloodEvent[] = []
    for (const e of entries) {
      const key = `${map}:${e.key.join(',')}`
      const delta = e.value - (this.totals.get(key) ?? 0)
      if (delta <= 0) continue
      this.totals.set(key, e.value)
      const sinceT = this.since.get(key) ?? 0
      this.since.set(key, t)
      const nums = e.key.map(Number)
      const [fromPid, toTid, sig] = of === 'signal' ? nums : [nums[0], nums[0], nums[1]]
      const {processes} = this
      out.push({type: 'event', kind: 'flood', t, ts: this.time.iso(t), from: processes.procRefOfTid(fromPid), to: processes.procRefOfTid(toTid), sig, signame: signalName(sig), count: delta, sinceT, of})
      this.counters.flooded += of === 'signal' ? delta : 0
    }
    return out
  }
}
