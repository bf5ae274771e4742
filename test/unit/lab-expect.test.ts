import assert from 'node:assert/strict'
import {checkAll, checkExpectation, matchesPattern, verdict, type Expectation} from '../../src/lab/expect.js'
import type {TraceEvent} from '../../src/events/types.js'

// Two events as `pausetrace lab stop-continue --json` printed them (bpftrace 0.17, namespaces runtime).
const SIGSTOP = JSON.parse(
  '{"type":"event","kind":"signal","sig":19,"signame":"SIGSTOP","via":"kill","from":{"pid":13874,"tid":13874,"comm":"kill","innerPid":13874,"sandbox":null,"role":"host"},"target":{"pid":13817},"t":685963146,"ts":"2026-11-27T12:13:24.188Z","to":{"pid":13817,"tid":13817,"comm":"worker","innerPid":null,"sandbox":"netns:4026532403","role":"container"},"result":"delivered","ret":0,"code":"SI_USER"}',
) as TraceEvent
const STOPPED = JSON.parse(
  '{"type":"event","kind":"reap","t":687821043,"ts":"2026-11-27T12:13:24.190Z","reaper":{"pid":13816,"tid":13816,"comm":"supervisor","innerPid":2,"sandbox":"netns:4026532403","role":"container"},"child":{"pid":13817,"tid":13817,"comm":"worker","innerPid":3,"sandbox":"netns:4026532403","role":"container"},"syscall":"wait4","status":{"stopped":19},"statusFrom":"wait","options":["WUNTRACED","WCONTINUED"]}',
) as TraceEvent
const EVENTS = [SIGSTOP, STOPPED]

describe('lab expectations', () => {
  describe('matchesPattern', () => {
    it('matches when every given field is equal, nested objects as sub-patterns', () => {
      assert.equal(matchesPattern(SIGSTOP, {kind: 'signal', sig: 19, to: {pid: 13817, comm: 'worker'}, result: 'delivered'}), true)
      assert.equal(matchesPattern(SIGSTOP, {kind: 'signal', sig: 19, to: {pid: 13817, comm: 'worker'}, result: 'ignored'}), false)
      assert.equal(matchesPattern(SIGSTOP, {to: {pid: 13818}}), false)
    })

    it('compares null exactly: a missing field is not null, and null is not a value', () => {
      assert.equal(matchesPattern(SIGSTOP, {from: {sandbox: null}}), true)
      assert.equal(matchesPattern(SIGSTOP, {to: {sandbox: null}}), false)
      assert.equal(matchesPattern(SIGSTOP, {errno: null}), false)
      assert.equal(matchesPattern(SIGSTOP, {to: {innerPid: null}}), true)
    })

    it('compares arrays exactly, in order and length', () => {
      assert.equal(matchesPattern(STOPPED, {options: ['WUNTRACED', 'WCONTINUED']}), true)
      assert.equal(matchesPattern(STOPPED, {options: ['WUNTRACED']}), false)
      assert.equal(matchesPattern(STOPPED, {options: ['WCONTINUED', 'WUNTRACED']}), false)
      assert.equal(matchesPattern(STOPPED, {options: ['WUNTRACED', 'WCONTINUED', 'WNOHANG']}), false)
    })

    it('does not take a number for a string or an object for a scalar', () => {
      assert.equal(matchesPattern(STOPPED, {status: {stopped: '19'}}), false)
      assert.equal(matchesPattern(STOPPED, {status: 19}), false)
      assert.equal(matchesPattern(STOPPED, {reaper: {innerPid: 2}}), true)
      assert.equal(matchesPattern(STOPPED, {reaper: {innerPid: 1}}), false)
    })
  })

  describe('checkExpectation', () => {
    const reap: Expectation = {text: 'the supervisor sees the stop', step: 2, pattern: {kind: 'reap', reaper: {pid: 13816}, status: {stopped: 19}}}

    it('names the event that satisfied it', () => {
      const r = checkExpectation(reap, EVENTS)
      assert.deepEqual([r.ok, r.event?.t], [true, 687821043])
    })

    it('only counts events from its step on (sinceT)', () => {
      assert.equal(checkExpectation({...reap, sinceT: 687821043}, EVENTS).ok, true)
      assert.equal(checkExpectation({...reap, sinceT: 687821044}, EVENTS).ok, false)
    })

    it('an absent expectation fails on the event that should not be there, and holds otherwise', () => {
      const none: Expectation = {text: 'no SIGSTOP', step: 1, absent: true, pattern: {kind: 'signal', sig: 19}}
      const seen = checkExpectation(none, EVENTS)
      assert.deepEqual([seen.ok, seen.event?.t], [false, 685963146])
      const later = checkExpectation({...none, sinceT: 685963147}, EVENTS)
      assert.deepEqual([later.ok, later.event], [true, undefined])
    })

    it('an absent expectation held for its step only (untilT) ignores what comes after the step', () => {
      const none: Expectation = {text: 'no SIGSTOP', step: 1, absent: true, pattern: {kind: 'signal', sig: 19}}
      assert.deepEqual(checkExpectation({...none, untilT: 685963145}, EVENTS).ok, true)
      const at = checkExpectation({...none, untilT: 685963146}, EVENTS)
      assert.deepEqual([at.ok, at.event?.t], [false, 685963146])
    })
  })

  it('verdict counts expectations and facts, and lists what is missing', () => {
    const xs: Expectation[] = [
      {text: 'stop delivered', step: 2, pattern: {kind: 'signal', sig: 19, result: 'delivered'}},
      {text: 'continue seen', step: 3, pattern: {kind: 'reap', status: {continued: true}}},
      {text: 'no reap by pause', step: 1, absent: true, pattern: {kind: 'reap', reaper: {role: 'pause'}}},
    ]
    const v = verdict(checkAll(xs, EVENTS), [
      {text: 'worker stopped', ok: true, step: 2},
      {text: 'worker running', ok: false, detail: 'state T', step: 3},
    ])
    assert.deepEqual(
      {ok: v.ok, expected: v.expected, seen: v.seen, missing: v.missing.map((r) => r.expectation.text), facts: v.factsFailed.map((f) => f.text)},
      {ok: false, expected: 5, seen: 3, missing: ['continue seen'], facts: ['worker running']},
    )
    assert.equal(verdict(checkAll(xs.slice(0, 1), EVENTS), []).ok, true)
  })
})
