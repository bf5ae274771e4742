// Held reaps: a reap whose child's host PID or exit status is not known yet (its lines came late,
// or were lost) waits here, keyed by what it waits for. It is tried again only when that is
// learned, and written as one `lost` record once overdue. Reaps are rare enough to wait as long
// as the reorder window may ever grow.
import type {OutputQueue} from './output-queue.js'
import type {ProcInfo} from './process-info.js'
import type {RawLine} from './raw.js'

export type WaitLine = RawLine & {tag: 'W'}

/** What a reap's child cannot be told without yet. */
export type WaitKey =
  /** the host PID of the child known by its PID inside the reaper's namespace */
  | {kind: 'host-pid'; pidns: number; innerPid: number}
  /** the exit status of the child (the reaper passed no status pointer) */
  | {kind: 'exit-status'; hostPid: number}

/** A WaitKey as a map key. */
export function waitKeyString(k: WaitKey): string {
  return k.kind === 'host-pid' ? `n${k.pidns}:${k.innerPid}` : `x${k.hostPid}`
}

/** The held reaps' counter in DecoderStats. */
export interface ReapCounters {
  /** reaps whose child could not be named (its PID inside a namespace unknown): each is a `lost` record */
  unresolvedReaps: number
}

/** Writes a reap's event if its child can now be told (true), else says what it waits for. */
export type TryReap = (t: number, w: WaitLine, reaper: ProcInfo) => true | WaitKey

interface HeldReap {
  t: number
  line: WaitLine
  reaper: ProcInfo
  waitsFor: WaitKey
  /** written, or given up as lost */
  done: boolean
  /** in the arrival list already (a reap held again under another key is not listed twice) */
  listed: boolean
}

const MAX_HELD_REAPS = 10_000

export class HeldReaps {
  /** in arrival order, for expiry */
  private readonly arrived: HeldReap[] = []
  /** by waitKeyString of what each waits for */
  private readonly byWait = new Map<string, HeldReap[]>()
  /** keys held reaps wait for that were just learned */
  private readonly woken: string[] = []

  constructor(
    private readonly counters: ReapCounters,
    private readonly out: OutputQueue,
    private readonly tryReap: TryReap,
  ) {}

  hold(t: number, line: WaitLine, reaper: ProcInfo, waitsFor: WaitKey): void {
    if (this.arrived.length >= MAX_HELD_REAPS) this.giveUp(this.arrived.shift() as HeldReap)
    this.index({t, line, reaper, waitsFor, done: false, listed: false})
  }

  /** Something reaps may wait for was learned: those that wait for it are tried at the next release. */
  learned(k: WaitKey): void {
    if (this.byWait.size === 0) return
    const key = waitKeyString(k)
    if (this.byWait.has(key)) this.woken.push(key)
  }

  /** At each release: tries the reaps woken since, and gives up those that arrived before `overdue`. */
  release(overdue: number): void {
    if (this.arrived.length === 0) {
      this.woken.length = 0
      return
    }
    this.retry(this.woken.splice(0), overdue)
  }

  /** End of input: every held reap is tried once more, then given up. */
  finish(): void {
    this.retry([...this.byWait.keys()], Number.POSITIVE_INFINITY)
  }

  private index(h: HeldReap): void {
    if (!h.listed) {
      h.listed = true
      this.arrived.push(h)
    }
    const key = waitKeyString(h.waitsFor)
    const list = this.byWait.get(key)
    if (list) list.push(h)
    else this.byWait.set(key, [h])
  }

  private retry(keys: string[], overdue: number): void {
    for (const key of keys) {
      const list = this.byWait.get(key)
      if (!list) continue
      this.byWait.delete(key)
      for (const h of list) {
        if (h.done) continue
        const waitsFor = this.tryReap(h.t, h.line, h.reaper)
        if (waitsFor === true) h.done = true
        else {
          h.waitsFor = waitsFor
          this.index(h)
        }
      }
    }
    const arrived = this.arrived
    let n = 0
    while (n < arrived.length && (arrived[n].done || arrived[n].t < overdue)) this.giveUp(arrived[n++])
    if (n > 0) {
      arrived.splice(0, n)
      if (arrived.length === 0) this.byWait.clear()
    }
  }

  private giveUp(h: HeldReap): void {
    if (h.done) return
    h.done = true
    this.counters.unresolvedReaps++
    this.out.add({type: 'lost', t: h.t, count: 1, source: 'unresolved'})
  }
}
