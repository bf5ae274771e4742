// One word per signal state: a lane's summary and an event's chain say the same of a signal
// (src/ui/signal-state.ts), on a recorded trace and on one exit added to it.
import assert from 'node:assert/strict'
import type {ExitEvent, TraceRecord} from '../../src/events/types.js'
import {Timeline, type Lane, type SignalItem} from '../../src/model/timeline.js'
import {chainOf} from '../../src/ui/chain.js'
import {laneSummary} from '../../src/ui/summary.js'
import {timelineOf, traceRecords} from '../helpers/traces.js'

const POD = 'netns:4026532177'
const CATATONIT = 30940
const laneOf = (tl: Timeline): Lane => {
  const lane = tl.sandboxes.get(POD)?.lanes.get(CATATONIT)
  assert.ok(lane)
  return lane
}
const lastStep = (s: SignalItem, now: number): string | undefined => chainOf(s, now).steps.at(-1)?.text

describe('signal states: one word each, in the lane summary and in the chain', () => {
  it('two SIGHUPs catatonit read from its signalfd, one proved by the next, one not delivered after 250 ms: "consumed" both', () => {
    const tl = timelineOf('reap-by-pause')
    const lane = laneOf(tl)
    const now = tl.endT()
    assert.deepEqual(laneSummary(lane, now), ['reaped 1, last sleep[31019/12] in 0.32ms', 'SIGHUP consumed ×2'])
    const [proved, presumed] = lane.items.slice(1) as SignalItem[]
    assert.deepEqual([proved.state, presumed.state], ['consumed', 'awaiting'])
    assert.equal(lastStep(proved, now), 'consumed without a handler (read from a signalfd or by sigwaitinfo): a later SIGHUP was queued anew')
    assert.equal(lastStep(presumed, now), 'consumed (read from a signalfd or by sigwaitinfo: catatonit does) or blocked: no delivery after 3.3s')
    // within 250 ms it is still pending, in both
    assert.deepEqual(laneSummary(lane, presumed.t + 1000).slice(-2), ['SIGHUP pending', 'SIGHUP consumed'])
    assert.equal(lastStep(presumed, presumed.t + 1000), 'pending: waiting for delivery')
  })

  it('a signal still queued when its target exits: "never delivered" in both', () => {
    const recs = traceRecords('reap-by-pause').filter((r) => r.type !== 'footer')
    // catatonit's own exit (code 0), 0.1 s after the second SIGHUP, made from the child's recorded exit
    const {signal: _signal, core: _core, ...childExit} = recs.find((r) => r.type === 'event' && r.kind === 'exit') as ExitEvent & {type: 'event'}
    const hup = recs.at(-1) as TraceRecord & {t: number}
    const pause = (recs.find((r) => r.type === 'event' && r.kind === 'reap') as TraceRecord & {reaper: ExitEvent['proc']}).reaper
    const tl = new Timeline().feedAll([...recs, {...childExit, t: hup.t + 100_000_000, proc: pause, code: 0}])
    const lane = laneOf(tl)
    const presumed = lane.items[2] as SignalItem
    assert.equal(presumed.state, 'undelivered')
    assert.deepEqual(laneSummary(lane, tl.lastT), ['zombie 0.00ms (parent unknown)', 'reaped 1, last sleep[31019/12] in 0.32ms', 'SIGHUP never delivered', 'SIGHUP consumed'])
    assert.equal(lastStep(presumed, tl.lastT), 'never delivered: catatonit[30940/1] (pause) exited with it still queued')
  })

  it('a SIGKILL to a zombie at the teardown: "no effect" in both, as in a text line', () => {
    const tl = timelineOf('teardown')
    const lane = tl.sandboxes.get('netns:4026532182')?.lanes.get(25819)
    assert.ok(lane)
    const kill = lane.items.at(-1) as SignalItem
    assert.equal(kill.state, 'dead')
    assert.deepEqual(laneSummary(lane, tl.endT()), ['killed by SIGTERM, released with its PID namespace', 'SIGKILL no effect'])
    assert.equal(lastStep(kill, tl.endT()), 'generated: no effect, sleep[25819/3] had already exited (a zombie; the kernel reports "ignored")')
  })
})
