// Keeps a long live trace's memory near what it holds. At a high event rate V8 lets the old
// generation grow far beyond the live data (events that waited in the reorder window survive two
// scavenges and are promoted; the old space is collected only when its limit, set from the
// machine's memory, is near): `watch` over a million events peaked at 398 MB of RSS, and at
// 210 MB with the old space capped at 160 MB — garbage, not retention. A flag cannot be set once
// Node runs, so this asks for a full collection when the heap passes a budget, at most once a
// second while records flow (one took 3.7 ms on a 46 MB heap here; the bpftrace buffers absorb the pause).
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
  /** Records are flowing (the only time the heap grows): checks the heap if `everyMs` have passed since the last check. */
  note(): void
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
 * Checks the heap at most every `everyMs` while records flow (note()); above the limit, one full
 * collection. The limit is `budgetMb` of used heap, or half as much again as the last collection
 * left when that is more: a view that holds more than the budget (watch's timeline on a busy
 * node) would otherwise be collected in full every second, each a stop of the whole heap (watch
 * on the million stream: 10 s of 83 s in the collector). Driven by the records, not a timer: a
 * trace with nothing to trace never wakes node up for it.
 */
export function governHeap(budgetMb = 128, everyMs = 1000): HeapGovernor {
  const gc = gcFunction()
  let collections = 0
  const budget = budgetMb * 1048576
  let limit = budget
  let next = 0
  let stopped = gc === null
  return {
    note: () => {
      if (stopped) return
      const now = performance.now()
      if (now < next) return
      next = now + everyMs
      if (v8.getHeapStatistics().used_heap_size > limit) {
        ;(gc as () => void)()
        collections++
        limit = nextHeapLimit(budget, v8.getHeapStatistics().used_heap_size)
      }
    },
    stop: () => {
      stopped = true
    },
    get collections() {
      return collections
    },
  }
}
