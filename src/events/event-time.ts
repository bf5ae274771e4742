// An event's two times: `t`, kernel nanoseconds since the trace's first line (its base), and
// `ts`, the ISO wall-clock time. The text of the current second is kept, so that most events
// only format their milliseconds (this runs once per event). No clock is read: the wall-clock
// offset comes in as an option.
import {nsSince} from './raw.js'

export class EventTime {
  private base?: string
  private wallBaseMs = 0
  private isoSecond = Number.NaN
  private isoSecondText = ''

  /** wallOffsetMs: wall-clock ms minus CLOCK_MONOTONIC ms; without it `ts` counts from the epoch */
  constructor(private readonly wallOffsetMs?: number) {}

  get started(): boolean {
    return this.base !== undefined
  }

  /** Sets t = 0 at this kernel time (CLOCK_MONOTONIC ns, decimal). */
  start(baseNs: string): void {
    this.base = baseNs
    this.wallBaseMs = this.wallOffsetMs === undefined ? 0 : this.wallOffsetMs + Number(BigInt(baseNs) / 1000n) / 1000
  }

  /** The base kernel time modulo 10^15 ns (exact: 15 digits fit a double). */
  get baseMod15(): number {
    const base = this.base ?? '0'
    return Number(base.length > 15 ? base.slice(-15) : base)
  }

  /** Wall-clock ms at t = 0. */
  get startWallMs(): number {
    return this.wallBaseMs
  }

  /** t of a kernel time (never below 0); only once started. */
  since(ns: string): number {
    return Math.max(0, nsSince(ns, this.base as string))
  }

  /** Like since() but may be negative (a clock reading before the base). */
  offset(ns: string): number {
    return nsSince(ns, this.base as string)
  }

  /** ISO time of t. */
  iso(t: number): string {
    const ms = Math.floor(this.wallBaseMs + t / 1e6)
    const sec = ms - (((ms % 1000) + 1000) % 1000)
    if (sec !== this.isoSecond) {
      this.isoSecond = sec
      this.isoSecondText = new Date(sec).toISOString().slice(0, -4)
    }
    const m = ms - sec
    return `${this.isoSecondText}${m < 10 ? '00' : m < 100 ? '0' : ''}${m}Z`
  }
}
