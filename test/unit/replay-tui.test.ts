// replay --tui: a real recording played through the Timeline model and the Ink view of watch
// (ink-testing-library's render), paced by a fake clock, ended with the q key.
import assert from 'node:assert/strict'
import {EventEmitter} from 'node:events'
import {render} from 'ink-testing-library'
import {replayTui} from '../../src/replay/tui.js'
import {NO_FILTERS} from '../../src/replay/filter.js'
import {Timeline} from '../../src/model/timeline.js'
import {ViewState} from '../../src/ui/view-state.js'
import type {Clock} from '../../src/replay/pace.js'
import {TRACE_A, TRACE_B_GZ, scenarioPid1, traceRecords} from '../helpers/replay.js'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 10_000
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

function fakeTerminal(): NodeJS.WriteStream {
  return Object.assign(new EventEmitter(), {columns: 140, rows: 45, write: () => true}) as unknown as NodeJS.WriteStream
}

describe('replay --tui', () => {
  it('plays every record into the timeline, shows the sandbox, stays up until q', async () => {
    const timeline = new Timeline()
    const state = new ViewState(timeline)
    let ink: ReturnType<typeof render> | undefined
    const warnings: string[] = []
    const done = replayTui({
      files: [TRACE_A, TRACE_B_GZ], filters: NO_FILTERS, speed: 0, warn: (l) => warnings.push(l), state,
      view: {render: (node) => (ink = render(node)), stdout: fakeTerminal(), altScreen: false, intervalMs: 5},
    })
    await until(() => state.notice !== undefined, 'the end of the replay')
    const a = traceRecords(TRACE_A)
    const b = traceRecords(TRACE_B_GZ)
    assert.equal(state.notice, `replay finished: ${a.length + b.length} records from 2 files; q quits`)
    assert.equal(timeline.counters.events, [...a, ...b].filter((r) => r.type === 'event').length)
    // The second file's times come after the first's on one axis.
    const lastB = b.filter((r) => r.type === 'event').at(-1) as Record<string, any>
    assert.equal(timeline.lastT, lastB.t + (Date.parse(b[0].startedAt) - Date.parse(a[0].startedAt)) * 1e6)
    await sleep(30)
    const {pid, sandbox} = scenarioPid1(a)
    const frame = ink?.lastFrame() ?? ''
    assert.ok(frame.includes(sandbox), frame)
    assert.ok(frame.includes(`sleep[${pid}/1]`), frame)
    ink?.stdin.write('q')
    const result = await done
    assert.equal(result.records, a.length + b.length)
    assert.deepEqual(warnings, [])
  })

  it('--speed 1 follows the recorded times; q in the middle stops it', async () => {
    const timeline = new Timeline()
    const state = new ViewState(timeline)
    let ink: ReturnType<typeof render> | undefined
    let t = 0
    const slept: number[] = []
    let release: () => void = () => undefined
    // A clock whose sleeps end when the test says so: the replay is held at its first wait.
    const clock: Clock = {
      now: () => t,
      sleep: (ms) => {
        slept.push(ms)
        t += ms
        return new Promise((resolve) => (release = resolve))
      },
    }
    const done = replayTui({
      files: [TRACE_A], filters: NO_FILTERS, speed: 1, warn: () => undefined, state, clock,
      view: {render: (node) => (ink = render(node)), stdout: fakeTerminal(), altScreen: false, intervalMs: 5},
    })
    await until(() => slept.length === 1, 'the first wait')
    const events = traceRecords(TRACE_A).filter((r) => r.type === 'event')
    const second = events.find((e) => Date.parse(e.ts) > Date.parse(events[0].ts)) as Record<string, any>
    assert.equal(slept[0], Date.parse(second.ts) - Date.parse(events[0].ts))
    assert.equal(timeline.counters.events, events.indexOf(second))
    ink?.stdin.write('q')
    const result = await done
    assert.equal(timeline.counters.events, events.indexOf(second))
    // every record before the one it was waiting for: header, sandbox records and events
    assert.equal(result.records, traceRecords(TRACE_A).findIndex((r) => r.type === 'event' && r.t === second.t))
    release()
  })
})
