// What replay, replay --tui and export share: the trace files opened and merged (a bad file
// refuses the whole run before anything is printed), the filters applied, each file's time offset,
// and one warning line per damaged file at the end.
import {TraceMerge, type MergedEntry, type MergeOptions, type TraceSource} from './merge.js'
import {RecordFilter} from './filter.js'
import type {Filters} from '../events/filter.js'
import {describeProblems} from './reader.js'

function startMs(s: TraceSource): number {
  const ms = Date.parse(s.header.startedAt)
  return Number.isFinite(ms) ? ms : 0
}

export class TraceInput {
  /** per file: nanoseconds from the earliest file's start to its own (add to its `t`) */
  readonly offsetNs: number[]

  private constructor(
    readonly merge: TraceMerge,
    private readonly filter: RecordFilter,
  ) {
    const starts = merge.sources.map(startMs)
    const earliest = Math.min(...starts)
    this.offsetNs = starts.map((s) => (s - earliest) * 1e6)
  }

  static async open(files: string[], filters: Filters, opts: MergeOptions = {}): Promise<TraceInput> {
    return new TraceInput(await TraceMerge.open(files, opts), new RecordFilter(filters))
  }

  get sources(): TraceSource[] {
    return this.merge.sources
  }

  /** Distinct hosts of the files' headers, in file order. */
  get hosts(): string[] {
    return this.merge.hosts
  }

  /** The records the filters keep, in merge order, a batch (never empty) at a time. */
  async *batches(): AsyncGenerator<MergedEntry[]> {
    const filter = this.filter
    if (!filter.active) {
      yield* this.merge.batches()
      return
    }
    for await (const batch of this.merge.batches()) {
      const kept = batch.filter((e) => filter.keep(e.record, e.source))
      if (kept.length > 0) yield kept
    }
  }

  close(): Promise<void> {
    return this.merge.close()
  }

  /** The warning lines for damaged files (once read to the end), each also given to `warn`. */
  warnings(warn: (line: string) => void): string[] {
    const out: string[] = []
    for (const s of this.merge.sources) {
      const w = describeProblems(s.path, s.problems)
      if (w) {
        out.push(`pausetrace: ${w}`)
        warn(`pausetrace: ${w}`)
      }
    }
    return out
  }
}
