// A Map that drops its oldest entries once it holds `max`: for what waits for an event that may
// never come (a reap of a child whose parent ignores SIGCHLD, which the kernel reaps itself).

/** The map, its oldest entries dropped first once it holds `max` (ready for one more set). */
export function capped<K, V>(m: Map<K, V>, max: number): Map<K, V> {
  while (m.size >= max) m.delete(m.keys().next().value as K)
  return m
}
