// Replay speed: records come out at the pace they were recorded, times `speed` (2 = twice as
// fast); speed 0 = as fast as possible. Time is read from the records' wall clock (ms).

export interface Clock {
  now(): number
  sleep(ms: number): Promise<void>
}

export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
}

export class Pacer {
  private originWall?: number
  private originReal = 0

  constructor(readonly speed: number, readonly clock: Clock = realClock) {}

  /** How long to wait (ms, ≥ 0) before showing a record of wall-clock time `wallMs`. */
  delay(wallMs: number): number {
    if (this.speed <= 0 || !Number.isFinite(wallMs)) return 0
    if (this.originWall === undefined) {
      this.originWall = wallMs
      this.originReal = this.clock.now()
      return 0
    }
    const due = this.originReal + (wallMs - this.originWall) / this.speed
    return Math.max(0, due - this.clock.now())
  }

  /** Waits until a record of time `wallMs` is due. Resolves at once when it already is. */
  async wait(wallMs: number): Promise<void> {
    const ms = this.delay(wallMs)
    // Timers are not finer than a millisecond: below that, wait for the next record instead.
    if (ms >= 1) await this.clock.sleep(ms)
  }
}
