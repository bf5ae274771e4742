import assert from 'node:assert/strict'
import {JsonSink, TextSink, describeSandbox, wrap} from '../../src/lab/output.js'
import {checkAll, verdict, type Expectation} from '../../src/lab/expect.js'
import {EXERCISES, findExercise, pauseRef} from '../../src/lab/exercises.js'
import {isSetupNoise, resolveRuntime} from '../../src/lab/run-lab.js'
import {UsageError} from '../../src/errors.js'
import type {LabSandbox} from '../../src/lab/runtime.js'
import type {TraceEvent} from '../../src/events/types.js'

// Recorded by `pausetrace lab pause-anatomy --json` (bpftrace 0.17, namespaces runtime).
const REAP = JSON.parse(
  '{"type":"event","kind":"reap","t":1567602000,"ts":"2026-11-27T12:00:01.567Z","reaper":{"pid":21315,"tid":21315,"comm":"pause","innerPid":1,"sandbox":"netns:4026532181","role":"pause"},"child":{"pid":21956,"tid":21956,"comm":"sh","innerPid":4,"sandbox":"netns:4026532181","role":"container"},"syscall":"wait4","status":{"exited":7},"statusFrom":"exit","options":["WNOHANG"]}',
) as TraceEvent
const SB: LabSandbox = {name: 'anatomy', sharePid: true, pausePid: 21315, pauseComm: 'pause', parentPid: 21314, parentComm: 'unshare', sandboxId: 'netns:4026532181', ns: {net: 4026532181, ipc: 4026532179, uts: 4026532178, pid: 4026532180}}

const XS: Expectation[] = [
  {text: 'pause reaps it', step: 2, pattern: {kind: 'reap', reaper: pauseRef(SB), status: {exited: 7}}},
  {text: 'pause exits 0', step: 4, pattern: {kind: 'exit', proc: {pid: 21315}, code: 0}},
  {text: 'no reap by sh', step: 2, absent: true, pattern: {kind: 'reap', reaper: {comm: 'sh'}}},
]

function lines(fn: (write: (l: string) => void) => void): string[] {
  const out: string[] = []
  fn((l) => out.push(l))
  return out
}

describe('lab output', () => {
  it('text: each check next to the event that met it, and a missing one marked', () => {
    const out = lines((w) => new TextSink(w).checks(2, checkAll(XS, [REAP]), [{text: 'no zombie is left under pause', ok: true, detail: 'zombies of PID 21315: 0', step: 2}]))
    assert.deepEqual(out, [
      '   expected:',
      '     ✓ no zombie is left under pause (zombies of PID 21315: 0)',
      '     ✓ pause reaps it',
      '         +1.567602s reap     pause[21315/1] @netns:4026532181 (pause) reaped sh[21956/4] @netns:4026532181: exited 7 (wait4 WNOHANG, no status pointer)',
      '     ✗ pause exits 0: NOT SEEN',
      '     ✓ no reap by sh',
    ])
  })

  it('text: the result lists what was expected and not seen, with the pattern to compare', () => {
    const v = verdict(checkAll(XS, [REAP]), [])
    const out = lines((w) => new TextSink(w).result(v, {interrupted: false, lost: 2, leftovers: 0}))
    assert.deepEqual(out, [
      '',
      'Result: 2 of 3 expectations met.',
      'Expected and not seen:',
      '  ✗ [step 4] pause exits 0',
      '      no event matched {"kind":"exit","proc":{"pid":21315},"code":0}',
      'Note: 2 event(s) were lost; a missing event may be one of them.',
    ])
    assert.deepEqual(
      lines((w) => new TextSink(w).result(verdict(checkAll(XS.slice(0, 1), [REAP]), []), {interrupted: false, lost: 0, leftovers: 0})),
      ['', 'Result: all 1 expectations were seen. ✓'],
    )
    assert.deepEqual(
      lines((w) => new TextSink(w).result(verdict(checkAll(XS.slice(0, 1), [REAP]), []), {interrupted: true, lost: 0, leftovers: 0})),
      ['', 'Interrupted: the exercise did not finish, so nothing is checked.'],
    )
  })

  it('json: lab records carry the pattern and the time of the matching event; trace records pass through', () => {
    const out = lines((w) => {
      const s = new JsonSink(w)
      s.checks(2, checkAll(XS.slice(0, 2), [REAP]), [])
      s.trace([REAP as TraceEvent & {type: 'event'}], 0)
      s.result(verdict(checkAll(XS.slice(0, 2), [REAP]), []), {interrupted: false, lost: 0, leftovers: 0})
    }).map((l) => JSON.parse(l) as Record<string, unknown>)
    assert.deepEqual(out[0], {type: 'lab', kind: 'check', step: 2, text: 'pause reaps it', absent: false, pattern: XS[0].pattern, ok: true, t: 1567602000})
    assert.deepEqual(out[1], {type: 'lab', kind: 'check', step: 4, text: 'pause exits 0', absent: false, pattern: XS[1].pattern, ok: false, t: null})
    assert.deepEqual(out[2], REAP)
    assert.deepEqual(out[3], {type: 'lab', kind: 'result', ok: false, expected: 2, seen: 1, missing: [{step: 4, text: 'pause exits 0', absent: false, pattern: XS[1].pattern, t: null}], interrupted: false, error: null, lost: 0, leftovers: 0})
  })

  it('describes a sandbox in one sentence', () => {
    assert.equal(
      describeSandbox(SB),
      'sandbox "anatomy" (bare namespaces): netns:4026532181, PID 1 = pause[21315], started by unshare[21314]; PID namespace shared with its containers (shareProcessNamespace: true)',
    )
  })

  it('wraps words at the width', () => {
    assert.deepEqual(wrap('aa bb cc dd', 5), ['aa bb', 'cc dd'])
    assert.deepEqual(wrap('  averyveryverylongword x ', 5), ['averyveryverylongword', 'x'])
  })
})

describe('lab catalogue', () => {
  it('has the six exercises, in order, with their runtimes', () => {
    assert.deepEqual(
      EXERCISES.map((e) => [e.id, e.runtimes.join(',')]),
      [
        ['pause-anatomy', 'namespaces,cri'],
        ['shared-pid', 'namespaces,podman,cri'],
        ['pid1-ignores-sigterm', 'namespaces,podman,cri'],
        ['zombies', 'namespaces,podman,cri'],
        ['kill-pause', 'namespaces,podman,cri'],
        ['stop-continue', 'namespaces,podman,cri'],
      ],
    )
  })

  it('resolves the runtime: namespaces by default, usage errors otherwise', () => {
    const anatomy = findExercise('pause-anatomy')!
    assert.equal(resolveRuntime(findExercise('zombies')!, undefined), 'namespaces')
    assert.equal(resolveRuntime(findExercise('zombies')!, 'podman'), 'podman')
    assert.equal(resolveRuntime(findExercise('kill-pause')!, 'cri'), 'cri')
    assert.equal(resolveRuntime(anatomy, 'cri'), 'cri')
    assert.throws(() => resolveRuntime(anatomy, 'podman'), (e: Error) => e instanceof UsageError && e.exitCode === 2 && e.message === 'exercise pause-anatomy runs on namespaces and cri only; use --runtime namespaces.')
    assert.throws(() => resolveRuntime(anatomy, 'docker'), (e: Error) => e instanceof UsageError && e.message === '--runtime "docker" is not a lab runtime; use one of: namespaces, podman, cri.')
  })

  it('hides thread events and the runtime\'s own runc processes from the text view, nothing else', () => {
    const proc = (pid: number, comm: string, tid = pid) => ({pid, tid, comm, innerPid: 1, sandbox: 'netns:1', role: 'container' as const})
    const base = {type: 'event' as const, t: 1, ts: ''}
    assert.equal(isSetupNoise({...base, kind: 'fork', parent: proc(5, 'sh'), child: proc(5, 'sh', 6), thread: true}), true)
    assert.equal(isSetupNoise({...base, kind: 'exit', proc: proc(5, 'sh', 6), code: 0, groupDead: false}), true)
    assert.equal(isSetupNoise({...base, kind: 'deliver', proc: proc(7, 'runc:[2:INIT]'), sig: 23, signame: 'SIGURG', handler: 'handler'}), true)
    assert.equal(isSetupNoise({...base, kind: 'exec', proc: proc(7, 'catatonit'), filename: '/catatonit'}), false)
    assert.equal(isSetupNoise({...base, kind: 'fork', parent: proc(5, 'runc:[1:CHILD]'), child: proc(8, 'sleep'), thread: false}), false)
  })
})
