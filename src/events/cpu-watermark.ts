// The time up to which every CPU's lines have been read (see bpf/control.bt). bpftrace 0.17
// reads its per-CPU buffers one at a time, so a busy CPU can hold the others' lines back for
// seconds; a time-based window cannot know when they are all in. Here each `H` line (kernel
// time h) carries the time of the last line each CPU had printed at h (in older recordings a
// print of the map follows it, read at or after h). Each CPU's buffer is read in order, so once the line of every CPU's time
// has been read, every line printed before h has been: the decoder may release up to h.
// Pure; times are t (ns since the trace's base), the map's values the kernel's ns modulo 10^15.
import type {MapEntry} from '../stream/bpftrace-json.js'

/**
 * A probe reads its time, prints its line, then marks that time as its CPU's latest: a line whose
 * probe was running when the heartbeat read the marks carries an earlier time than they show, by
 * one probe's run (µs) — unless the probe was held up in between (a virtual CPU taken away by the
 * hypervisor: a 1 ms margin let one line in a million through once on a loaded 2-CPU VM).
 */
const MARGIN_NS = 10_000_000

const MOD = 1e15

/** how long into the trace heartbeats that were expected may take to show (they come every 100 ms) */
const NONE_AFTER_NS = 3_000_000_000

/** lines kept before the first heartbeat: far more than bpftrace prints in the first 100 ms */
const PRE_HEARTBEAT_KEPT = 65_536

interface Beat {
  /** t of the H line */
  h: number
  /** times (t) of CPUs' last lines not yet read */
  missing: Set<number>
}

export class CpuWatermark {
  /** every line with a t up to this has been read (−∞ until the first heartbeat is complete) */
  upTo = Number.NEGATIVE_INFINITY
  /** the stream carries heartbeats (or is expected to): the decoder releases by them */
  active: boolean
  /** a heartbeat came */
  private heard = false
  /** heartbeats complete so far (every CPU's line of its map read) */
  reached = 0
  /** t of an H line whose map has not come yet */
  private pendingH?: number
  /** a heartbeat whose final line has not come yet */
  private pendingLines?: Beat
  /**
   * times of lines read (above upTo when read), in the order they were read, for the heartbeats
   * still to come: searched once per heartbeat rather than kept in a set, which cost every line
   * an insertion and a deletion (~1 µs a line on the million stream)
   */
  private readonly readOrder: number[] = []
  private readHead = 0
  private readonly beats: Beat[] = []

  /**
   * baseModNs: the trace's base kernel time modulo 10^15, to turn the map's times into t.
   */
  constructor(private readonly baseModNs: () => number, expectHeartbeats: boolean) {
    this.active = expectHeartbeats
  }

  /** A line of the trace was read. */
  line(t: number): void {
    if (t <= this.upTo) return
    this.readOrder.push(t)
    // Before the first heartbeat (or in a stream without any): only the latest lines, for the first map.
    if (!this.active && this.readOrder.length > 2 * PRE_HEARTBEAT_KEPT) this.keepLatest()
    if (this.beats.length === 0) return
    for (let i = this.beats.length - 1; i >= 0; i--) {
      const beat = this.beats[i]
      if (beat.missing.delete(t) && beat.missing.size === 0) {
        this.reach(i)
        return
      }
    }
  }

  /** An H line at t. */
  heartbeat(h: number): void {
    this.active = this.heard = true
    this.pendingH = h
  }

  /**
   * Heartbeats were expected but none came by stream time `now` (a program without them, or a
   * bpftrace that cannot run the interval probe): back to the time window, and say so.
   */
  noneBy(now: number): boolean {
    if (this.heard || !this.active || now < NONE_AFTER_NS) return false
    this.active = false
    return true
  }

  /** The @lp map that follows an H line (the older form, and a program that did not know the CPUs). */
  lastPrinted(entries: MapEntry[]): void {
    const h = this.pendingH
    if (h === undefined) return
    this.pendingH = undefined
    const missing = new Set<number>()
    for (const e of entries) this.need(missing, e.value)
    this.complete(h, missing)
  }

  /** One line of a heartbeat at t carrying CPUs' latest times (`last`: its final line). */
  heartbeatLine(h: number, times: number[], last: boolean): void {
    this.active = this.heard = true
    let missing = this.pendingLines
    if (missing === undefined || missing.h !== h) missing = this.pendingLines = {h, missing: new Set<number>()}
    for (const v of times) this.need(missing.missing, v)
    if (!last) return
    this.pendingLines = undefined
    this.complete(h, missing.missing)
  }

  private need(missing: Set<number>, value: number): void {
    if (value === 0) return // that CPU printed nothing yet
    const t = this.tOf(value)
    if (t > this.upTo) missing.add(t)
  }

  /** A heartbeat's CPU times are all in: those read already are not missing. */
  private complete(h: number, missing: Set<number>): void {
    const order = this.readOrder
    for (let i = this.readHead; i < order.length && missing.size > 0; i++) missing.delete(order[i])
    this.beats.push({h, missing})
    if (missing.size === 0) this.reach(this.beats.length - 1)
  }

  /** Release up to at least t even though a heartbeat is not complete (the decoder's cap). */
  forceTo(t: number): void {
    if (t <= this.upTo) return
    this.upTo = t
    let done = 0
    while (done < this.beats.length && this.beats[done].h - MARGIN_NS <= t) done++
    if (done > 0) this.beats.splice(0, done)
    this.forget()
  }

  /** How many heartbeats wait for a CPU's line. */
  get waiting(): number {
    return this.beats.length
  }

  /** Beat i is complete: so are the ones before it (each CPU's lines come in order). */
  private reach(i: number): void {
    const upTo = this.beats[i].h - MARGIN_NS
    this.reached++
    this.beats.splice(0, i + 1)
    if (upTo > this.upTo) this.upTo = upTo
    this.forget()
  }

  private keepLatest(): void {
    this.readOrder.splice(0, this.readOrder.length - PRE_HEARTBEAT_KEPT)
    this.readHead = 0
  }

  /** Drops the times read below upTo from the front (one above it stops this until upTo passes it: harmless, only searched). */
  private forget(): void {
    const order = this.readOrder
    while (this.readHead < order.length && order[this.readHead] <= this.upTo) this.readHead++
    if (this.readHead > 4096 && this.readHead * 2 > order.length) {
      order.splice(0, this.readHead)
      this.readHead = 0
    }
  }

  /** t of a kernel time given modulo 10^15 (the map keeps times modulo 10^15 so that JSON keeps them exact). */
  private tOf(mod: number): number {
    let t = mod - this.baseModNs()
    // the kernel's time wrapped past a multiple of 10^15 ns (11.6 days) since the base
    if (t < -MOD / 2) t += MOD
    return t
  }
}
