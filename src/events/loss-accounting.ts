// Loss accounting: every line bpftrace lost is counted. It reports some losses itself; the
// rest show when the per-kind @n counts it prints at exit (lines the kernel produced) exceed
// the lines seen. Those counts also tell when, after a stop request, every line has been read.
import type {MapEntry} from '../stream/bpftrace-json.js'

/** The loss counters in DecoderStats. */
export interface LossCounters {
  /** printf lines seen, per tag */
  seen: Record<string, number>
  /** lines the kernel produced per tag, from the count maps printed at exit (undefined until then) */
  produced?: Record<string, number>
  badLines: number
  lostReported: number
  lostFound: number
}

/** The tag of each kind number in the @n map (bpf/README.md). */
const KIND_OF_TAG: Record<string, number> = {S: 1, G: 2, D: 3, E: 4, W: 5, F: 6, X: 7}

/** The @n map → lines produced per tag. */
export function producedPerTag(entries: MapEntry[]): Record<string, number> {
  const produced: Record<string, number> = {}
  for (const e of entries) {
    const tag = Object.keys(KIND_OF_TAG).find((k) => String(KIND_OF_TAG[k]) === e.key[0])
    if (tag) produced[tag] = e.value
  }
  return produced
}

/** Lines the kernel produced that were neither seen nor reported lost (0 until the counts came). */
export function lostUnreported(c: LossCounters): number {
  if (!c.produced) return 0
  let missing = 0
  for (const [tag, n] of Object.entries(c.produced)) missing += Math.max(0, n - (c.seen[tag] ?? 0))
  return missing - c.lostReported
}

/** Whether every line the kernel counted has been seen (false until the counts came). */
export function allProducedSeen(c: LossCounters): boolean {
  const produced = c.produced
  if (!produced) return false
  return Object.entries(produced).every(([tag, n]) => (c.seen[tag] ?? 0) >= n)
}
