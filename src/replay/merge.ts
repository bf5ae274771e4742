// Several trace files as one stream in wall-clock order: a k-way merge that holds one batch of
// records per file (the head of each), so memory does not grow with the files. Each file's own
// order is kept. Records travel in batches (arrays): no promise per record.
import {TraceReader, type MergedEntry, type MergeKey, type ReadProblems} from './reader.js'
import type {HeaderRecord, TraceRecord} from '../events/types.js'

export {NO_KEY, type MergedEntry, type MergeKey} from './reader.js'

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

export interface MergeOptions {
  /**
   * Whether the caller reads `key` (pacing). Several files always get keys (they order the
   * merge); one file without keys skips the work and its entries carry NO_KEY.
   */
  keys?: boolean
}

interface Head {
  src: TraceSource
  reader: TraceReader
  clock: KeyClock
  /** the records read and not yet given out: batch[pos…] */
  batch: MergedEntry[] | undefined
  pos: number
}

/** Records given out at a time when several files are merged. */
const MERGED_BATCH = 256

/**
 * Opens every file and reads its header before yielding anything, so a file that is not a trace
 * (or of a newer format) refuses the whole replay before the first output line. Then yields the
 * records of all files, smallest key first; at equal keys, the file given first.
 */
export class TraceMerge {
  readonly sources: TraceSource[] = []
  private heads: Head[] = []
  private keyed = true

  private constructor() {}

  static async open(paths: string[], opts: MergeOptions = {}): Promise<TraceMerge> {
    const m = new TraceMerge()
    m.keyed = opts.keys !== false || paths.length > 1
    try {
      for (const [index, path] of paths.entries()) {
        const problems: ReadProblems = {badLines: 0, noFooter: false, cutLastLine: false}
        // A reader that throws has closed its file.
        const reader = new TraceReader(path, problems, index)
        const batch = await reader.next()
        // The reader returns nothing before a valid header (it throws instead).
        const header = (batch?.[0] as MergedEntry).record as HeaderRecord
        const head: Head = {src: {index, path, header, problems}, reader, clock: new KeyClock(header), batch: undefined, pos: 0}
        m.setBatch(head, batch)
        m.heads.push(head)
        m.sources.push(head.src)
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

  private setBatch(h: Head, batch: MergedEntry[] | undefined): void {
    h.batch = batch
    h.pos = 0
    if (batch && this.keyed) for (const e of batch) e.key = h.clock.next(e.record)
  }

  /** The records of all files in merge order, a batch (never empty) at a time. */
  async *batches(): AsyncGenerator<MergedEntry[]> {
    try {
      if (this.heads.length === 1) {
        // One file: its batches as read.
        const h = this.heads[0]
        while (h.batch) {
          const batch = h.pos === 0 ? h.batch : h.batch.slice(h.pos)
          this.setBatch(h, await h.reader.next())
          yield batch
        }
        return
      }
      for (;;) {
        const out: MergedEntry[] = []
        while (out.length < MERGED_BATCH) {
          let best: Head | undefined
          for (const h of this.heads) {
            if (h.batch && (!best || keyLess(h.batch[h.pos].key, (best.batch as MergedEntry[])[best.pos].key))) best = h
          }
          if (!best) break
          const batch = best.batch as MergedEntry[]
          out.push(batch[best.pos++])
          if (best.pos === batch.length) this.setBatch(best, await best.reader.next())
        }
        if (out.length === 0) return
        yield out
      }
    } finally {
      await this.close()
    }
  }

  /** The records of all files in merge order, one at a time. */
  async *entries(): AsyncGenerator<MergedEntry> {
    for await (const batch of this.batches()) yield* batch
  }

  async close(): Promise<void> {
    for (const h of this.heads) h.reader.close()
  }
}
