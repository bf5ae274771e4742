// The reorder window: items wait here until they are older than the window, then leave in
// kernel time order (bpftrace 0.17 prints each CPU's buffer in turn). It widens at once when a
// line comes later than it allowed, narrows again after 30 s of kernel time with none, and lets
// the idle clock release only while no input comes.
import {MinHeap, type HeapItem} from './min-heap.js'

/** The window's counters in DecoderStats. */
export interface WindowCounters {
  /** lines that came after later ones had been released (written out of time order) */
  lateLines: number
  /** the largest reorder window used, ns */
  maxWindowNs: number
}

const SHRINK_AFTER_NS = 30e9

export class ReorderWindow<T> {
  /** how long items wait now, ns */
  sizeNs: number
  readonly minNs: number
  readonly maxNs: number
  private readonly heap = new MinHeap<T>()
  private seq = 0
  private newest = 0
  /** everything up to this t has been released */
  private releasedUpTo = Number.NEGATIVE_INFINITY
  private lastLateT = 0
  /** input since the last tick: the clock releases only when input is idle */
  private inputSinceTick = 0

  constructor(private readonly counters: WindowCounters, minNs: number, maxNs: number) {
    this.sizeNs = this.minNs = minNs
    this.maxNs = Math.max(minNs, maxNs)
    counters.maxWindowNs = minNs
  }

  /** The latest t put in (items without a time of their own are put in at it). */
  get newestT(): number {
    return this.newest
  }

  /** Counts one input record, for the idle clock. */
  noteInput(): void {
    this.inputSinceTick++
  }

  /** Whether no input came since the last call (a tick of the clock). */
  idleSinceLastTick(): boolean {
    const idle = this.inputSinceTick === 0
    this.inputSinceTick = 0
    return idle
  }

  /** A line at its kernel time; one older than what was already released is counted late. */
  add(t: number, value: T): void {
    if (t < this.releasedUpTo) this.late()
    this.put(t, value)
  }

  /** A record with no time of its own (a loss, a map): it takes the latest t. */
  addAtNewest(value: T): void {
    this.put(this.newest, value)
  }

  /**
   * Starts releasing everything up to upTo (take items with next()). The window narrows first
   * when no line came late for a while.
   */
  beginRelease(upTo: number): void {
    if (upTo > this.releasedUpTo) this.releasedUpTo = upTo
    if (this.sizeNs > this.minNs && this.newest - this.lastLateT > SHRINK_AFTER_NS) {
      this.sizeNs = Math.max(this.minNs, this.sizeNs / 2)
      this.lastLateT = this.newest
    }
  }

  /** The oldest item if its t is up to upTo (taken out), else undefined. */
  next(upTo: number): HeapItem<T> | undefined {
    const top = this.heap.peek()
    if (top === undefined || top.t > upTo) return undefined
    this.heap.pop()
    return top
  }

  private put(t: number, value: T): void {
    if (t > this.newest) this.newest = t
    this.heap.push({t, seq: this.seq++, value})
  }

  private late(): void {
    this.counters.lateLines++
    this.lastLateT = this.newest
    // Straight to the widest window: a reader behind on one CPU's buffer falls further behind as
    // the burst goes on, and every step of a gradual widening would write another batch late.
    this.sizeNs = this.maxNs
    this.counters.maxWindowNs = this.maxNs
  }
}
