// `replay --tui`: trace files played through the same Timeline model and Ink view as `watch`, at
// real time × speed (0: as fast as possible). When the files are done the view stays up, with a
// notice, until q / Ctrl-C; warnings about damaged files print after the view is gone.
import type {Filters} from '../events/filter.js'
import {TraceInput} from './input.js'
import {Pacer, realClock, type Clock} from './pace.js'
import type {ReplayResult} from './replay.js'
import {Timeline} from '../model/timeline.js'
import {ViewState} from '../ui/view-state.js'
import type {LiveViewOptions} from '../ui/live-view.js'
import type {TraceRecord} from '../events/types.js'
import {onStopSignals} from '../util/signals.js'
import {RuntimeNoiseFold} from '../events/runtime-procs.js'

export interface TuiReplayOptions {
  files: string[]
  filters: Filters
  speed: number
  warn: (line: string) => void
  clock?: Clock
  /** passed to the view (tests: ink-testing-library's render, a fake stdout, no alternate screen) */
  view?: Pick<LiveViewOptions, 'render' | 'stdout' | 'stdin' | 'altScreen' | 'intervalMs'>
  /** the view's state (and through it the model), for tests to look at */
  state?: ViewState
  /** also the events among the runtime's own processes (folded away by default) */
  runtimeNoise?: boolean
}

/** Several files: t counted from the earliest file's start, so one time axis holds them all. */
function shifted(rec: TraceRecord, offsetNs: number): TraceRecord {
  if (offsetNs === 0) return rec
  if (rec.type === 'lost') return {...rec, t: rec.t + offsetNs}
  if (rec.type === 'event') return rec.kind === 'flood' ? {...rec, t: rec.t + offsetNs, sinceT: rec.sinceT + offsetNs} : {...rec, t: rec.t + offsetNs}
  return rec
}

export async function replayTui(opts: TuiReplayOptions): Promise<ReplayResult> {
  const input = await TraceInput.open(opts.files, opts.filters, {keys: opts.speed > 0})
  const clock = opts.clock ?? realClock
  const offsetNs = input.offsetNs
  const pacer = new Pacer(opts.speed, clock)
  const state = opts.state ?? new ViewState(new Timeline())
  const timeline = state.timeline

  let quit = false
  let onQuit: () => void = () => undefined
  const quitted = new Promise<void>((resolve) => {
    onQuit = () => {
      quit = true
      resolve()
    }
  })
  const offSignals = onStopSignals(onQuit)

  // The view's clock: trace time advancing with real time × speed from the first record shown.
  let origin: {t: number; real: number} | undefined
  let finished = false
  const now = (): number => {
    if (!origin || opts.speed <= 0 || finished) return timeline.lastT
    return Math.max(timeline.lastT, origin.t + (clock.now() - origin.real) * opts.speed * 1e6)
  }

  // Ink is loaded only for this view: the other outputs start faster without it.
  const {LiveView} = await import('../ui/live-view.js')
  const view = new LiveView({state, now, onQuit, ...opts.view})
  let records = 0
  const noise = new RuntimeNoiseFold(opts.runtimeNoise)
  try {
    view.start()
    let sinceYield = 0
    read: for await (const batch of input.batches()) {
      for (const e of batch) {
        if (quit) break read
        const rec = shifted(e.record, offsetNs[e.source])
        if (noise.hides(rec)) continue
        if (opts.speed > 0 && (rec.type === 'event' || rec.type === 'lost')) {
          const ms = pacer.delay(e.key.ms)
          origin ??= {t: rec.t, real: clock.now()}
          if (ms >= 1) await Promise.race([clock.sleep(ms), quitted])
          if (quit) break read
        } else if (++sinceYield >= 256) {
          // As fast as possible, yet keys and frames still get their turn.
          sinceYield = 0
          await new Promise((resolve) => setImmediate(resolve))
        }
        state.feed(rec)
        records++
        view.update()
      }
    }
    finished = true
    if (!quit) {
      const n = input.sources.length
      const hidden = noise.hidden ? `, ${noise.hidden} of the runtime's own not shown (--runtime-noise)` : ''
      state.setNotice(`replay finished: ${records} records from ${n === 1 ? input.sources[0].path : `${n} files`}${hidden}; q quits`)
      view.update()
      await quitted
    }
  } finally {
    offSignals()
    view.stop()
    await input.close()
  }
  const notice = noise.notice()
  if (notice) opts.warn(notice)
  return {files: input.sources.length, records, hosts: input.hosts, warnings: input.warnings(opts.warn)}
}
