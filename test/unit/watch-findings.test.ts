// The findings in the live view (watch, replay --tui): recorded traces fed through the findings
// engine into the view's state (FindingsViewState, as replay --tui does; watch's LiveFindings
// calls the same addFinding), exact frames with the latest finding above the status line, the
// count in the status line, the `f` pane with the advice, at the terminal sizes the view supports.
import assert from 'node:assert/strict'
import {EventEmitter} from 'node:events'
import chalk from 'chalk'
import {render} from 'ink-testing-library'
import {Timeline} from '../../src/model/timeline.js'
import {FindingsViewState} from '../../src/live/view-findings.js'
import {applyKey} from '../../src/ui/keys.js'
import {replayTui} from '../../src/replay/tui.js'
import {NO_FILTERS} from '../../src/replay/filter.js'
import {fixturePath} from '../helpers/fixtures.js'
import {frame, withoutColour} from '../helpers/chalk.js'
import {traceRecords, type TraceName} from '../helpers/traces.js'

const stateOf = (...names: TraceName[]): FindingsViewState => {
  const s = new FindingsViewState(new Timeline())
  for (const n of names) s.feedAll(traceRecords(n))
  return s
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('findings in the live view (Ink)', () => {
  withoutColour()

  it('sigterm-ignored.jsonl: the finding above the status line, its count in it (100×14)', () => {
    const s = stateOf('sigterm-ignored')
    assert.deepEqual(s.findings.map((f) => [f.kind, f.severity]), [['sigterm-ignored-by-pid1', 'warning']])
    assert.equal(
      frame(s, 100, 14),
      [
        'pausetrace · vm · bpftrace v0.17.0 · --pod pt-sigterm          1 event · 0 lost · stopped: interrupt',
        'time (5.0s)          0s               2.5s                5s ignored 1',
        '▶ pt-sigterm · podman · own PID ns · netns:4026532178 · 1 event',
        '  pid 539/1          ·······································',
        '  sleep[803/1]       ··I···································· SIGTERM ignored',
        '',
        '',
        '',
        '',
        '',
        '',
        'warning sigterm-ignored-by-pid1 pt-sigterm: SIGTERM from node[32518] at +0.332452s was dropped by t…',
        'q quit · space pause · ↑↓ sandbox · enter details · / filter · ?… 1 finding (f) · sandboxes 1–1 of 1',
      ].join('\n'),
    )
  })

  it('zombie.jsonl on the smallest terminals: 40×12 cut to the width, 20×8 still one line of it, 60×6 too small', () => {
    const s = stateOf('zombie')
    assert.equal(
      frame(s, 40, 12),
      [
        '4 events · 0 lost · stopped: interrupt',
        'time (5.0s)      0s       2.5s        5s',
        '▶ pt-zombie · podman · own PID ns · net…',
        'pid 4858/1       ·······················',
        'sleep[5334/7]    ·Zzzzzzzzzzzzzzzzzzz···',
        '',
        '',
        '',
        '',
        'warning zombies pt-zombie: 1 zombie und…',
        'q quit · ? help     1 finding · 1–1 of 1',
      ].join('\n'),
    )
    const small = frame(s, 20, 8).split('\n')
    assert.equal(small.length, 7)
    assert.equal(small[5], 'warning zombies pt-…')
    for (const l of small) assert.ok([...l].length <= 20, l)
    assert.equal(frame(s, 60, 6), 'pausetrace: 60×6 is too small (20×8 at least); q quits')
    // every size the view supports: no line wider than the terminal, never more lines than rows - 1
    for (const [c, r] of [[40, 12], [60, 20], [80, 24], [100, 30], [132, 26], [20, 8], [30, 9]]) {
      const lines = frame(s, c, r).split('\n')
      assert.ok(lines.length <= r - 1, `${c}×${r}: ${lines.length} lines`)
      for (const l of lines) assert.ok([...l].length <= c, `${c}×${r}: ${l}`)
      assert.ok(lines.some((l) => l.startsWith('warning zombies')), `${c}×${r}`)
    }
  })

  it('two findings: both above the status line from 14 rows, the newest last; with the detail pane open too', () => {
    const s = stateOf('zombie', 'sigterm-ignored')
    assert.deepEqual(s.findings.map((f) => f.kind), ['zombies', 'sigterm-ignored-by-pid1'])
    const lines = frame(s, 80, 14).split('\n')
    assert.deepEqual(lines.slice(-3), [
      'warning zombies pt-zombie: 1 zombie under sleep[5322/1] (PID 1 of its namespace…',
      'warning sigterm-ignored-by-pid1 pt-sigterm: SIGTERM from node[32518] at +0.3324…',
      'q quit · space pause · ↑↓ sandbox · enter d… 2 findings (f) · sandboxes 1–2 of 2',
    ])
    // 12 rows: the newest only
    assert.deepEqual(frame(s, 80, 12).split('\n').slice(-2, -1), ['warning sigterm-ignored-by-pid1 pt-sigterm: SIGTERM from node[32518] at +0.3324…'])
    s.toggleDetails()
    const withDetails = frame(s, 80, 16).split('\n')
    assert.equal(withDetails.length, 15)
    assert.match(withDetails[12], /^warning zombies /)
    assert.match(withDetails[13], /^warning sigterm-ignored-by-pid1 /)
  })

  it('f: the findings pane, newest first, the sentence and the advice wrapped; esc closes it, ? replaces it', () => {
    const s = stateOf('sigterm-ignored')
    applyKey(s, 'f', {})
    assert.equal(
      frame(s, 80, 12),
      [
        'pausetrace · vm · bpftrace v0.17.0 · --po… 1 event · 0 lost · stopped: interrupt',
        'time (5.0s)      0s               2.5s               5s ignored 1',
        'findings: 1, the newest first (f or esc closes)',
        'warning sigterm-ignored-by-pid1 at +0.332452s',
        '  pt-sigterm: SIGTERM from node[32518] at +0.332452s was dropped by the kernel:',
        '  sleep[803/1] is PID 1 of its namespace and has no handler for it, so it keeps',
        '  running (a stop through the runtime waits out the grace period, then SIGKILLs',
        '  it).',
        '  → handle SIGTERM in sleep, or run it under an init that forwards signals',
        '    (tini, dumb-init, or `shareProcessNamespace: true` so that pause is PID 1)',
        'q quit · space pause · ↑↓ sandbox · enter de… 1 finding (f) · sandboxes 1–1 of 1',
      ].join('\n'),
    )
    applyKey(s, '', {escape: true})
    assert.equal(s.ui.findings, false)
    assert.match(frame(s, 80, 12).split('\n')[2], /^▶ pt-sigterm/)
    applyKey(s, 'f', {})
    applyKey(s, '?', {})
    assert.deepEqual([s.ui.findings, s.ui.help], [false, true])
    assert.equal(frame(s, 80, 30).split('\n').find((l) => l.startsWith('  f ')), '  f          findings: every one with its advice, newest first (the latest are …')
    // typed in the filter, f is a letter
    applyKey(s, '?', {})
    applyKey(s, '/', {})
    applyKey(s, 'f', {})
    assert.deepEqual([s.ui.findings, s.ui.filter], [false, 'f'])
  })

  it('the pane on a short terminal: the newest findings that fit, the older ones counted', () => {
    const s = stateOf('zombie', 'sigterm-ignored')
    s.toggleFindings()
    assert.equal(
      frame(s, 80, 14),
      [
        'pausetrace · vm · bpftrace v0.17.0 · --p… 5 events · 0 lost · stopped: interrupt',
        'time (5.0s)      0s               2.5s               5s ignored 1 · zombies 1',
        'findings: 2, the newest first (f or esc closes)',
        'warning sigterm-ignored-by-pid1 at +0.332452s',
        '  pt-sigterm: SIGTERM from node[32518] at +0.332452s was dropped by the kernel:',
        '  sleep[803/1] is PID 1 of its namespace and has no handler for it, so it keeps',
        '  running (a stop through the runtime waits out the grace period, then SIGKILLs',
        '  it).',
        '  → handle SIGTERM in sleep, or run it under an init that forwards signals',
        '    (tini, dumb-init, or `shareProcessNamespace: true` so that pause is PID 1)',
        '  … 1 older finding not shown',
        '',
        'q quit · space pause · ↑↓ sandbox · enter d… 2 findings (f) · sandboxes 1–2 of 2',
      ].join('\n'),
    )
    const none = new FindingsViewState(new Timeline()).feedAll(traceRecords('reap-by-pause'))
    none.toggleFindings()
    assert.deepEqual(frame(none, 100, 10).split('\n').slice(2, 4), [
      'findings: none yet (f or esc closes)',
      '  what the events prove (an ignored SIGTERM, zombies, a grace period run out…) shows here',
    ])
    assert.doesNotMatch(frame(none, 100, 10), /finding \(f\)|findings \(f\)/)
  })

  it('colours repeat the severity: warning yellow (the word stays)', () => {
    chalk.level = 1
    try {
      const lines = frame(stateOf('sigterm-ignored'), 100, 14).split('\n')
      assert.ok(lines[11].startsWith('\u001b[33mwarning\u001b[39m sigterm-ignored-by-pid1 '), JSON.stringify(lines[11]))
    } finally {
      chalk.level = 0
    }
  })

  it('replay --tui: the files\' findings in the view as they play', async () => {
    const state = new FindingsViewState(new Timeline())
    let ink: ReturnType<typeof render> | undefined
    const term = Object.assign(new EventEmitter(), {columns: 100, rows: 14, write: () => true}) as unknown as NodeJS.WriteStream
    const done = replayTui({
      files: [fixturePath('traces/sigterm-ignored.jsonl')], filters: NO_FILTERS, speed: 0, warn: () => undefined, state,
      view: {render: (node) => (ink = render(node)), stdout: term, altScreen: false, intervalMs: 5},
    })
    const end = Date.now() + 10_000
    while (state.notice === undefined && Date.now() < end) await sleep(10)
    await sleep(30)
    const lines = (ink?.lastFrame() ?? '').split('\n')
    assert.match(lines.at(-2) ?? '', /^warning sigterm-ignored-by-pid1 pt-sigterm: SIGTERM from node\[32518\]/)
    assert.match(lines.at(-1) ?? '', /^replay finished: 4 records .* 1 finding \(f\) · sandboxes 1–1 of 1$/)
    ink?.stdin.write('q')
    await done
  })
})
