// Several trace files as one stream in wall-clock order: a k-way merge that holds one record per
// file (the head of each), so memory does not grow with the files. Each file's own order is kept.
import {readTraceEntries, type ReadProblems, type TraceEntry} from './reader.js'
import type {HeaderRecord, TraceRecord} from '../events/types.js'

/** Where a record sits in wall-clock time: `ms` from its own time field, `sub` to order within one ms. */
export interface MergeKey {
  ms: number
  /** nanoseconds: (file start − ms) × 10⁶ + t, i.e. the file's start + t, made comparable at equal `ms` */
  sub: number
}

export interface MergedEntry extends TraceEntry {
  /** index of the file in the order given */
  source: number
  key: MergeKey
}

export interface TraceSource {
  index: number
  path: string
  header: HeaderRecord
  problems: ReadProblems
}

/** Computes merge keys for the records of one file, in file order. */
export class KeyClock {
  private readonly startMs: number
  private last: MergeKey
  private lastT = 0

  constructor(header: HeaderRecord) {
    const s = Date.parse(header.startedAt)
    this.startMs = Number.isFinite(s) ? s : 0
    this.last = {ms: this.startMs, sub: 0}
  }

  /**
   * Events by `ts`, the header by `startedAt`, the footer by `endedAt` (after every event of its
   * millisecond); records with no wall-clock time of their own (sandbox, lost) and records whose
   * time does not parse take the key of the record before them, so they stay next to it.
   */
  next(rec: TraceRecord): MergeKey {
    let key: MergeKey | undefined
    if (rec.type === 'event') {
      const ms = Date.parse(rec.ts)
      if (Number.isFinite(ms) && Number.isFinite(rec.t)) {
        key = {ms, sub: (this.startMs - ms) * 1e6 + rec.t}
        this.lastT = rec.t
      }
    } else if (rec.type === 'header') {
      const ms = Date.parse(rec.startedAt)
      if (Number.isFinite(ms)) key = {ms, sub: (this.startMs - ms) * 1e6}
    } else if (rec.type === 'footer') {
      const ms = Date.parse(rec.endedAt)
      if (Number.isFinite(ms)) key = {ms, sub: Math.max((this.startMs - ms) * 1e6 + this.lastT, this.lastSubAt(ms))}
    }
    if (key) this.last = key
    return this.last
  }

  private lastSubAt(ms: number): number {
    return this.last.ms === ms ? this.last.sub : Number.NEGATIVE_INFINITY
  }
}

export function keyLess(a: MergeKey, b: MergeKey): boolean {
  return a.ms < b.ms || (a.ms === b.ms && a.sub < b.sub)
}

interface Head {
  src: TraceSource
  it: AsyncGenerator<TraceEntry>
  clock: KeyClock
  entry?: MergedEntry
}

/**
 * Opens every file and reads its header before yielding anything, so a file that is not a trace
 * (or of a newer format) refuses the whole replay before the first output line. Then yields the
 * records of all files, smallest key first; at equal keys, the file given first.
 */
export class TraceMerge {
  readonly sources: TraceSource[] = []
  private heads: Head[] = []

  private constructor() {}

  static async open(paths: string[]): Promise<TraceMerge> {
    const m = new TraceMerge()
    try {
      for (const [index, path] of paths.entries()) {
        const problems: ReadProblems = {badLines: 0, noFooter: false, cutLastLine: false}
        const it = readTraceEntries(path, problems)
        const first = await it.next()
        // readTraceEntries yields nothing before a valid header (it throws instead).
        const header = (first.value as TraceEntry).record as HeaderRecord
        const src: TraceSource = {index, path, header, problems}
        const head: Head = {src, it, clock: new KeyClock(header)}
        head.entry = {...(first.value as TraceEntry), source: index, key: head.clock.next(header)}
        m.sources.push(src)
        m.heads.push(head)
      }
    } catch (err) {
      await m.close()
      throw err
    }
    return m
  }

  /** Distinct hosts of the files' headers, in file order. */
  get hosts(): string[] {
    return [...new Set(this.sources.map((s) => String(s.header.host)))]
  }

  async *entries(): AsyncGenerator<MergedEntry> {
    try {
      for (;;) {
        let best: Head | undefined
        for (const h of this.heads) {
          if (h.entry && (!best || keyLess(h.entry.key, (best.entry as MergedEntry).key))) best = h
        }
        if (!best) return
        const out = best.entry as MergedEntry
        const next = await best.it.next()
        best.entry = next.done ? undefined : {...next.value, source: best.src.index, key: best.clock.next(next.value.record)}
        yield out
      }
    } finally {
      await this.close()
    }
  }

  async close(): Promise<void> {
    for (const h of this.heads) await h.it.return(undefined)
  }
}
