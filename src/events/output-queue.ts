// The decoder's output, in time order: records are ready as they are decoded, except behind a
// signal syscall whose exit line has not come yet (signal-join.ts), which holds back every
// record after it until it is filled.
import type {LostRecord, TraceEvent} from './types.js'

export type DecodedRecord = TraceEvent | LostRecord

/** A run of records; a waiting one holds back the runs after it. */
export interface OutputRun {
  events: DecodedRecord[]
  waiting: boolean
}

export class OutputQueue {
  private runs: OutputRun[] = []

  add(record: DecodedRecord): void {
    const last = this.runs.at(-1)
    if (last && !last.waiting) last.events.push(record)
    else this.runs.push({events: [record], waiting: false})
  }

  /** Records in order; the array becomes the queue's (the caller builds it fresh). */
  addAll(records: DecodedRecord[]): void {
    const last = this.runs.at(-1)
    if (last && !last.waiting) last.events.push(...records)
    else this.runs.push({events: records, waiting: false})
  }

  /** A run that waits: records after it are held until its owner fills it and clears `waiting`. */
  addWaiting(run: OutputRun): void {
    this.runs.push(run)
  }

  /** The records ready, up to the first run still waiting. */
  flush(): DecodedRecord[] {
    const runs = this.runs
    const out: DecodedRecord[] = []
    let i = 0
    while (i < runs.length && !runs[i].waiting) {
      out.push(...runs[i].events)
      i++
    }
    if (i > 0) runs.splice(0, i)
    return out
  }
}
