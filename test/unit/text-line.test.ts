// The text line of each record says only what is true: exact lines from recorded traces.
import assert from 'node:assert/strict'
import {formatRecord} from '../../src/ui/text-line.js'
import {timelineOf, traceRecords, type TraceName} from '../helpers/traces.js'
import {chainOf} from '../../src/ui/chain.js'
import type {SignalItem} from '../../src/model/timeline.js'
import {assertValidRecords} from '../helpers/schema.js'
import type {TraceEvent} from '../../src/events/types.js'

const lines = (name: TraceName, pick: (e: TraceEvent) => boolean): string[] =>
  traceRecords(name)
    .filter((r): r is TraceEvent => r.type === 'event')
    .filter(pick)
    .map((e) => formatRecord(e))

describe('text lines (recorded traces)', () => {
  it('the teardown trace is valid against the schema', () => {
    assertValidRecords(traceRecords('teardown'))
  })

  it('a reap whose wait4 began before tracing says the status came from the exit, not that no pointer was passed', () => {
    assert.deepEqual(lines('ns-pause', (e) => e.kind === 'reap' && (e.reaper.comm === 'unshare' || e.reaper.comm === 'pause')), [
      '+0.625550s reap     pause[30338/1] @netns:4026532336 (pause) reaped sh[30641/3] @netns:4026532336: exited 5 (wait4 WNOHANG, no status pointer)',
      "+2.222789s reap     unshare[30337] @netns:4026532336 reaped pause[30338/1] @netns:4026532336 (pause): exited 0 (wait4, status from the child's exit: the wait began before tracing)",
    ])
  })

  it('a SIGKILL delivered for a fatal SIGTERM names the SIGTERM; a SIGKILL really sent does not', () => {
    assert.deepEqual(lines('teardown', (e) => e.kind === 'deliver' && e.sig === 9), [
      '+0.330626s deliver  SIGKILL to sleep[25819/3] @netns:4026532182 → default action: the kernel ending the process for the fatal SIGTERM (no one sent SIGKILL)',
      '+0.432280s deliver  SIGKILL to sleep[25821/4] @netns:4026532182 → default action: the kernel ending the process for the fatal SIGTERM (no one sent SIGKILL)',
      '+1.125810s deliver  SIGKILL to sleep[25818/2] @netns:4026532182 → default action',
      '+1.126209s deliver  SIGKILL to nsenter[25817] @netns:4026532182 → default action',
      '+2.122264s deliver  SIGKILL to nsenter[25820] @netns:4026532182 → default action: the kernel ending the process for the fatal SIGTERM (no one sent SIGKILL)',
    ])
  })

  it("the teardown's SIGKILL to a zombie says it had no effect, not that it was ignored", () => {
    assert.deepEqual(lines('teardown', (e) => e.kind === 'signal' && e.sig === 9 && e.via === 'kernel'), [
      '+1.125671s signal   SIGKILL pause[25816/1] @netns:4026532182 (pause) → sleep[25818/2] @netns:4026532182 via kernel: delivered',
      '+1.125744s signal   SIGKILL pause[25816/1] @netns:4026532182 (pause) → sleep[25819/3] @netns:4026532182 via kernel: no effect, the target had already exited (a zombie)',
      '+1.125765s signal   SIGKILL pause[25816/1] @netns:4026532182 (pause) → sleep[25821/4] @netns:4026532182 via kernel: no effect, the target had already exited (a zombie)',
    ])
  })
})

describe('why the kernel dropped a signal (the chain of an ignored signal)', () => {
  const firstSignal = (name: TraceName, signame: string): SignalItem => {
    const tl = timelineOf(name)
    for (const sb of tl.sandboxes.values()) for (const e of sb.entries) if (e.kind === 'signal' && e.ev.signame === signame && e.state === 'ignored') return e
    throw new Error(`no ignored ${signame} in ${name}`)
  }
  const why = (s: SignalItem): string | undefined => chainOf(s, s.t).steps.find((st) => st.text.startsWith('generated:'))?.text

  it("SIGWINCH to the lab's pause: its default action is to ignore it, PID 1 or not", () => {
    assert.equal(why(firstSignal('flood', 'SIGWINCH')), "generated: ignored, dropped by the kernel (SIGWINCH's default action is to ignore it, for any process without a handler)")
  })

  it('SIGTERM to a PID 1 without a handler, from the host', () => {
    assert.equal(why(firstSignal('sigterm-ignored', 'SIGTERM')), 'generated: ignored, dropped by the kernel (sleep[803/1] is PID 1 of its namespace and has no handler for SIGTERM)')
  })

  it('SIGCONT: it resumed the process; only the signal itself was dropped', () => {
    assert.equal(why(firstSignal('teardown', 'SIGCONT')), 'generated: ignored, dropped by the kernel (SIGCONT resumed the process as it was generated; without a handler the signal itself is then dropped)')
  })
})
