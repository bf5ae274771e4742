// Keeps a long live trace's memory near what it holds. At a high event rate V8 lets the old
// generation grow far beyond the live data (events that waited in the reorder window survive two
// scavenges and are promoted; the old space is collected only when its limit, set from the
// machine's memory, is near): `watch` over a million events peaked at 398 MB of RSS, and at
// 210 MB with the old space capped at 160 MB — garbage, not retention. A flag cannot be set once
// Node runs, so this asks for a full collection when the heap passes a budget, at most once a
// second (one took 3.7 ms on a 46 MB heap here; the bpftrace buffers absorb the pause).
import v8 from 'node:v8'
import vm from 'node:vm'

let collect: (() => void) | null | undefined

/** The runtime's full collection, enabled on first use; null when this runtime refuses it. */
function gcFunction(): (() => void) | null {
  if (collect !== undefined) return collect
  try {
    v8.setFlagsFromString('--expose-gc')
    const fn = vm.runInNewContext('gc') as unknown
    collect = typeof fn === 'function' ? (fn as () => void) : null
  } catch {
    collect = null
  }
  return collect
}

export interface HeapGovernor {
  stop(): void
  /** full collections asked for so far */
  readonly collections: number
}

/** After a collection, the next waits until the heap is this much larger than what survived it. */
const GROWTH = 1.5

/** The used heap (bytes) at which the next full collection is asked for, after one left `usedAfter`. */
export function nextHeapLimit(budget: number, usedAfter: number): number {
  return Math.max(budget, usedAfter * GROWTH)
}

/**
 * Checks the heap every `everyMs`; above the limit, one full collection. The limit is `budgetMb`
 * of used heap, or half as much again as the last collection left when that is more: a view
 * that holds more than the budget (watch's timeline on a busy node) would otherwise be collected
 * in full every second, each a stop of the whole heap (watch on the million stream: 10 s of
 * 83 s in the collector).
 */
export function governHeap(budgetMb = 128, everyMs = 1000): HeapGovernor {
  const gc = gcFunction()
  let collections = 0
  const budget = budgetMb * 1048576
  let limit = budget
  const timer = gc
    ? setInterval(() => {
        if (v8.getHeapStatistics().used_heap_size > limit) {
          gc()
          collections++
          limit = nextHeapLimit(budget, v8.getHeapStatistics().used_heap_size)
        }
      }, everyMs)
    : undefined
  timer?.unref()
  return {
    stop: () => clearInterval(timer),
    get collections() {
      return collections
    },
  }
}
