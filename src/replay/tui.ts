// `replay --tui`: trace files played through the same Timeline model and Ink view as `watch`, at
// real time × speed (0: as fast as possible). When the files are done the view stays up, with a
// notice, until q / Ctrl-C; warnings about damaged files print after the view is gone.
import {TraceMerge, type MergedEntry} from './merge.js'
import {RecordFilter, type ReplayFilters} from './filter.js'
import {Pacer, realClock, type Clock} from './pace.js'
import {describeProblems} from './reader.js'
import type {ReplayResult} from './replay.js'
import {Timeline} from '../model/timeline.js'
import type {LiveViewOptions} from '../ui/live-view.js'
import type {TraceRecord} from '../events/types.js'

export interface TuiReplayOptions {
  files: string[]
  filters: ReplayFilters
  speed: number
  warn: (line: string) => void
  clock?: Clock
  /** passed to the view (tests: ink-testing-library's render, a fake stdout, no alternate screen) */
  view?: Pick<LiveViewOptions, 'render' | 'stdout' | 'stdin' | 'altScreen' | 'intervalMs'>
  /** the model, for tests to look at */
  timeline?: Timeline
}

/** Several files: t counted from the earliest file's start, so one time axis holds them all. */
function shifted(rec: TraceRecord, offsetNs: number): TraceRecord {
  if (offsetNs === 0) return rec
  if (rec.type === 'lost') return {...rec, t: rec.t + offsetNs}
  if (rec.type === 'event') return rec.kind === 'flood' ? {...rec, t: rec.t + offsetNs, sinceT: rec.sinceT + offsetNs} : {...rec, t: rec.t + offsetNs}
  return rec
}

export async function replayTui(opts: TuiReplayOptions): Promise<ReplayResult> {
  const merge = await TraceMerge.open(opts.files)
  const clock = opts.clock ?? realClock
  const starts = merge.sources.map((s) => Date.parse(s.header.startedAt) || 0)
  const earliest = Math.min(...starts)
  const offsetNs = starts.map((s) => (s - earliest) * 1e6)
  const filter = new RecordFilter(opts.filters)
  const pacer = new Pacer(opts.speed, clock)
  const timeline = opts.timeline ?? new Timeline()

  let quit = false
  let onQuit: () => void = () => undefined
  const quitted = new Promise<void>((resolve) => {
    onQuit = () => {
      quit = true
      resolve()
    }
  })
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']
  for (const s of signals) process.on(s, onQuit)

  // The view's clock: trace time advancing with real time × speed from the first record shown.
  let origin: {t: number; real: number} | undefined
  let finished = false
  const now = (): number => {
    if (!origin || opts.speed <= 0 || finished) return timeline.lastT
    return Math.max(timeline.lastT, origin.t + (clock.now() - origin.real) * opts.speed * 1e6)
  }

  // Ink is loaded only for this view: the other outputs start faster without it.
  const {LiveView} = await import('../ui/live-view.js')
  const view = new LiveView({timeline, now, onQuit, ...opts.view})
  let records = 0
  try {
    view.start()
    let sinceYield = 0
    for await (const e of merge.entries() as AsyncGenerator<MergedEntry>) {
      if (quit) break
      if (!filter.keep(e.record, e.source)) continue
      const rec = shifted(e.record, offsetNs[e.source])
      if (opts.speed > 0 && (rec.type === 'event' || rec.type === 'lost')) {
        const ms = pacer.delay(e.key.ms)
        origin ??= {t: rec.t, real: clock.now()}
        if (ms >= 1) await Promise.race([clock.sleep(ms), quitted])
        if (quit) break
      } else if (++sinceYield >= 256) {
        // As fast as possible, yet keys and frames still get their turn.
        sinceYield = 0
        await new Promise((resolve) => setImmediate(resolve))
      }
      timeline.feed(rec)
      records++
      view.update()
    }
    finished = true
    if (!quit) {
      const n = merge.sources.length
      timeline.setNotice(`replay finished: ${records} records from ${n === 1 ? merge.sources[0].path : `${n} files`}; q quits`)
      view.update()
      await quitted
    }
  } finally {
    for (const s of signals) process.off(s, onQuit)
    view.stop()
    await merge.close()
  }
  const warnings: string[] = []
  for (const s of merge.sources) {
    const w = describeProblems(s.path, s.problems)
    if (w) {
      warnings.push(`pausetrace: ${w}`)
      opts.warn(`pausetrace: ${w}`)
    }
  }
  return {files: merge.sources.length, records, hosts: merge.hosts, warnings}
}
