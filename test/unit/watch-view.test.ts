import assert from 'node:assert/strict'
import chalk from 'chalk'
import {Timeline} from '../../src/model/timeline.js'
import type {TraceRecord} from '../../src/events/types.js'
import {ViewState} from '../../src/ui/view-state.js'
import {frame, withoutColour} from '../helpers/chalk.js'
import {timelineOf, traceRecords, type TraceName} from '../helpers/traces.js'

// Component tests of the live view on recorded traces: exact frames (ink-testing-library), colours
// off so a frame is the text a person reads; one test checks the colours themselves.
/** The view's state over a recorded trace. */
const viewOf = (name: TraceName): ViewState => new ViewState(timelineOf(name))
const withDetails = (name: TraceName, older = 0): ViewState => {
  const tl = viewOf(name)
  tl.toggleDetails()
  tl.moveEntry(older)
  return tl
}

describe('WatchView (Ink) on recorded traces', () => {
  withoutColour()

  it('a pod whose PID 1 ignores SIGTERM: I on its lane, the chain says the kernel dropped it', () => {
    assert.equal(
      frame(withDetails('sigterm-ignored'), 100, 14),
      [
        'pausetrace · vm · bpftrace v0.17.0 · --pod pt-sigterm          1 event · 0 lost · stopped: interrupt',
        'time (5.0s)          0s               2.5s                5s ignored 1',
        '▶ pt-sigterm · podman · own PID ns · netns:4026532178 · 1 event',
        '  pid 539/1          ·······································',
        '  sleep[803/1]       ··I···································· SIGTERM ignored',
        '',
        '',
        '── pt-sigterm · event 1 of 1 · ←/→ older/newer ─────────────────────────────────────────────────────',
        '+0.332452s SIGTERM node[32518] (host) → sleep[803/1]',
        '  +0.332452s  kill(pid 803, SIGTERM) by node[32518] (host)',
        '  +0.332452s  generated: ignored, dropped by the kernel (sleep[803/1] is PID 1 of its namespace and',
        '              has no handler for SIGTERM)',
        'q quit · space pause · ↑↓ sandbox · enter details · / filter · ? help             sandboxes 1–1 of 1',
      ].join('\n'),
    )
  })

  it('a reap by pause: R on catatonit, X on the child, the chain from kill to wait4 with the latency', () => {
    assert.equal(
      frame(withDetails('reap-by-pause', 2), 120, 20),
      [
        'pausetrace · vm · bpftrace v0.17.0 · --pod pt-reap                                7 events · 0 lost · stopped: interrupt',
        'time (5.0s)              0s                   2.5s                    5s reaps 1',
        '▶ pt-reap · podman · shared PID ns · netns:4026532177 · 7 events',
        '  catatonit[30940/1]     ···R·····C··C·································· reaped 1, last sleep[31019/12] in 0.32ms · SIG…',
        '  sleep[31019/12]        ···X··········································· killed by SIGTERM, reaped by catatonit[30940/1…',
        '',
        '',
        '',
        '',
        '',
        '── pt-reap · event 3 of 5 · ←/→ older/newer ────────────────────────────────────────────────────────────────────────────',
        '+0.362937s reap catatonit[30940/1] (pause) reaped sleep[31019/12]: killed by SIGTERM',
        '  +0.362101s  kill(pid 31019, SIGTERM) by node[30271] (host)',
        '  +0.362101s  generated: queued for sleep[31019/12]',
        '  +0.362575s  default action: the kernel kills the process (signal_deliver SIGKILL)',
        '  +0.362617s  exit: sleep[31019/12] killed by SIGTERM',
        '  +0.362820s  SIGCHLD to catatonit[30940/1] (pause): delivered',
        '  +0.362937s  wait4 WNOHANG by catatonit[30940/1] (pause): reaped, killed by SIGTERM, 0.32ms after the exit',
        'q quit · space pause · ↑↓ sandbox · enter details · / filter · ? help                                 sandboxes 1–1 of 1',
      ].join('\n'),
    )
  })

  it('a zombie: Z and its bar up to now, its age and the parent that should reap it', () => {
    assert.equal(
      frame(withDetails('zombie'), 100, 16),
      [
        'pausetrace · vm · bpftrace v0.17.0 · --pod pt-zombie          4 events · 0 lost · stopped: interrupt',
        'time (5.0s)          0s               2.5s                5s zombies 1',
        '▶ pt-zombie · podman · own PID ns · netns:4026532177 · 4 events · 1 zombie',
        '  pid 4858/1         ·······································',
        '  sleep[5334/7]      ··Zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz······ zombie 3.9s (parent sleep[5322/1])',
        '',
        '── pt-zombie · event 1 of 2 · ←/→ older/newer ──────────────────────────────────────────────────────',
        '+0.326349s exit sleep[5334/7] killed by SIGTERM: zombie',
        '  +0.326285s  kill(pid 5334, SIGTERM) by node[32518] (host)',
        '  +0.326285s  generated: queued for sleep[5334/7]',
        '  +0.326313s  default action: the kernel kills the process (signal_deliver SIGKILL)',
        '  +0.326349s  exit: sleep[5334/7] killed by SIGTERM',
        '  +0.326444s  SIGCHLD to sleep[5322/1]: ignored (no handler; it must still wait for the child)',
        '              not reaped for 3.9s: a zombie; sleep[5322/1] should reap it with wait4/waitid',
        'q quit · space pause · ↑↓ sandbox · enter details · / filter · ? help             sandboxes 1–1 of 1',
      ].join('\n'),
    )
  })

  it('a flood: one F mark with its count, next to the 64 signals sent one by one', () => {
    assert.equal(
      frame(withDetails('flood'), 100, 12),
      [
        'pausetrace · vm · bpftrace v0.17.0 · --sandbox netns:402653… 65 events · 0 lost · stopped: interrupt',
        'time (5.0s)          0s               2.5s                5s ignored 64 · flooded 2936',
        '▶ netns:4026532181 · namespaces · own PID ns · 65 events',
        '  pause[11520/1]     ··I·F×2936····························· flood SIGWINCH ×2936 · SIGWINCH ignore…',
        '',
        '',
        '── netns:4026532181 · event 1 of 65 · ←/→ older/newer ──────────────────────────────────────────────',
        '+0.560556s flood 2936× SIGWINCH node[32518] (host) → pause[11520/1] (pause)',
        '  +0.560556s  signals past the first 64 per 250 ms counted in the kernel, not sent one by one',
        '  +0.560556s  2936 counted in 1 summary',
        'q quit · space pause · ↑↓ sandbox · enter details · / filter · ? help             sandboxes 1–1 of 1',
      ].join('\n'),
    )
  })

  it('a lost-event gap: ░ from the loss to the next event (to now for the last), zombies marked unsure, the gap in the details', () => {
    assert.equal(
      frame(withDetails('lost', 1), 100, 16),
      [
        'pausetrace · vm · bpftrace v0.17.0 · --sandbox netns:40… 309 events · 1843 lost · stopped: interrupt',
        'time (10.0s)         0s                5s                10s zombies 4 · reaps 48',
        '▶ netns:4026532252 (+25 more processes) · namespaces · shared PID ns · 309 events · 4 zombies',
        '  pid 16355/1        ·░░░░░░░░░░░░░░░░░░░░░░░···············',
        '  true[19015/94]     ·Zzzzzzzzzzzzzzzzzzzzzzz··············· zombie? 5.5s (parent unknown)',
        '  true[19013/93]     ·Zzzzzzzzzzzzzzzzzzzzzzz··············· zombie? 5.5s (parent sh[18732/2])',
        '  true[19012/92]     ·Zzzzzzzzzzzzzzzzzzzzzzz··············· zombie? 5.5s (parent sh[18732/2])',
        '  true[19011/91]     ·Zzzzzzzzzzzzzzzzzzzzzzz··············· zombie? 5.5s (parent sh[18732/2])',
        '  sh[19010]          ·+░░░░░░░░░░░░░░░░░░░░░░···············',
        '  sh[19009]          ·+░░░░░░░░░░░░░░░░░░░░░░···············',
        '  sh[19008]          ·+░░░░░░░░░░░░░░░░░░░░░░···············',
        '── netns:4026532252 · event 2 of 103 · ←/→ older/newer ─────────────────────────────────────────────',
        '+0.424121s LOST 1548 event(s) (bpftrace)',
        '  +0.424121s  lost between +0.424121s and now (+5.923000s): marks in this span may be missing',
        'q quit · space pause · ↑↓ sandbox · enter details · / filter · ? help             sandboxes 1–1 of 1',
      ].join('\n'),
    )
  })

  it('a narrow terminal (40 columns): no summary column, labels first, counters before the node name', () => {
    assert.equal(
      frame(viewOf('ns-pause'), 40, 12),
      [
        '49 events · 0 lost · stopped: interrupt',
        'time (10.0s)     0s        5s        10s',
        '▶ netns:4026532336 (+2 more processes) …',
        'pause[30338/1]   ·R·I·X·················',
        'unshare[30337]   ·····X·················',
        'nsenter[30668]   ·····X·················',
        'sleep[30669/5]   ··+··X·················',
        'sleep[30670/6]   ··X··†·················',
        'sh[30641/3]      +X·····················',
        'sleep[30642/4]   +X·····················',
        'q quit · ? help       sandboxes 1–1 of 1',
      ].join('\n'),
    )
    assert.equal(
      frame(withDetails('sigterm-ignored'), 40, 14),
      [
        '1 event · 0 lost · stopped: interrupt',
        'time (5.0s)      0s       2.5s        5s',
        '▶ pt-sigterm · podman · own PID ns · ne…',
        'pid 539/1        ·······················',
        'sleep[803/1]     ·I·····················',
        '── pt-sigterm · event 1 of 1 · ←/→ olde…',
        '+0.332452s SIGTERM node[32518] (host) →',
        'sleep[803/1]',
        '  +0.332452s  kill(pid 803, SIGTERM) by',
        '              node[32518] (host)',
        '  +0.332452s  generated: ignored,',
        '              dropped by the kernel',
        'q quit · ? help       sandboxes 1–1 of 1',
      ].join('\n'),
    )
  })

  it('two sandboxes, the second selected; the help pane; the filter being typed; a terminal too small', () => {
    const tl = new ViewState(new Timeline())
    for (const n of ['zombie', 'sigterm-ignored'] as const) tl.feedAll(traceRecords(n).filter((r: TraceRecord) => r.type !== 'footer'))
    tl.select(1)
    assert.equal(
      frame(tl, 80, 10, 3_650_000_000),
      [
        'pausetrace · vm · bpftrace v0.17.0 · --pod pt-sigterm   5 events · 0 lost · live',
        'time (5.0s)      0s               2.5s               5s ignored 1 · zombies 1',
        '  pt-zombie · podman · own PID ns · netns:4026532177 · 4 events · 1 zombie',
        '  pid 4858/1     ······································',
        '  sleep[5334/7]  ··Zzzzzzzzzzzzzzzzzzzzzzzzzz·········· zombie 3.3s (parent sle…',
        '▶ pt-sigterm · podman · own PID ns · netns:4026532178 · 1 event',
        '  pid 539/1      ······································',
        '  sleep[803/1]   ··I··································· SIGTERM ignored',
        'q quit · space pause · ↑↓ sandbox · enter details · / filter… sandboxes 1–2 of 2',
      ].join('\n'),
    )
    tl.toggleHelp()
    assert.equal(
      frame(tl, 80, 10, 3_650_000_000),
      [
        'pausetrace · vm · bpftrace v0.17.0 · --pod pt-sigterm   5 events · 0 lost · live',
        'time (5.0s)      0s               2.5s               5s ignored 1 · zombies 1',
        'marks (time runs left to right; one lane per process, the pause first)',
        '  I  signal ignored by the kernel (PID 1 without a handler, SIG_IGN, SIGCHLD…)',
        '  P  signal pending: queued and not delivered yet, or merged into one already p…',
        '  H  signal delivered to a handler',
        '  D  signal delivered to its default action (for SIGTERM, SIGKILL…: the process…',
        '  C  signal consumed without a handler (a signalfd or sigwaitinfo reader: catat…',
        'q quit · space pause · ↑↓ sandbox · enter details · / filter… sandboxes 1–2 of 2',
      ].join('\n'),
    )
    tl.toggleHelp()
    tl.beginFilter()
    tl.setFilter('pt-z')
    assert.equal(
      frame(tl, 80, 8, 3_650_000_000),
      [
        'pausetrace · vm · bpftrace v0.17.0 · --pod pt-sigterm   5 events · 0 lost · live',
        'time (5.0s)      0s               2.5s               5s ignored 1 · zombies 1',
        '▶ pt-zombie · podman · own PID ns · netns:4026532177 · 4 events · 1 zombie',
        '  pid 4858/1     ······································',
        '  sleep[5334/7]  ··Zzzzzzzzzzzzzzzzzzzzzzzzzz·········· zombie 3.3s (parent sle…',
        '',
        '/pt-z▏ enter keep · esc clear                 sandboxes 1–1 of 1 matching "pt-z"',
      ].join('\n'),
    )
    assert.equal(frame(tl, 30, 6), 'pausetrace: 30×6 is too small…')
  })

  it('before the header: attaching; paused: what waits is counted; a notice in the status line', () => {
    const tl = new ViewState(new Timeline())
    assert.equal(
      frame(tl, 80, 8, 0),
      [
        'pausetrace · ? · bpftrace ? · sandboxes    0 events · 0 lost · attaching probes…',
        'time (1.0s)      0s               0.5s               1s',
        '  attaching probes: bpftrace is starting…',
        '',
        '',
        '',
        'q quit · space pause · ↑↓ sandbox · enter details · / filter · ? help',
      ].join('\n'),
    )
    const recs = traceRecords('reap-by-pause').filter((r) => r.type !== 'footer')
    tl.feedAll(recs.slice(0, 2))
    tl.setPaused(true)
    tl.feedAll(recs.slice(2))
    assert.equal(frame(tl, 80, 8, 1_000_000_000).split('\n')[0], 'pausetrace · vm · bpftrace v0.17.0 · --po… 7 events · 0 lost · PAUSED, 7 waiting')
    // a notice from the pipeline takes the keys' place in the status line
    tl.setNotice('replay finished: 9 records from reap-by-pause.jsonl; q quits')
    assert.equal(frame(tl, 80, 8, 1_000_000_000).split('\n')[6], 'replay finished: 9 records from reap-by-pause.jsonl; q quits… sandboxes 1–1 of 1')
  })

  it('colours: an ignored signal is bold red, the empty track dim grey, the state grey once stopped', () => {
    chalk.level = 1
    try {
      const lines = frame(viewOf('sigterm-ignored'), 100, 10).split('\n')
      assert.equal(
        lines[4],
        '  sleep[803/1]       \u001b[90m\u001b[2m··\u001b[22m\u001b[1m\u001b[31mI\u001b[22m\u001b[90m\u001b[2m····································\u001b[22m\u001b[39m SIGTERM ignored',
      )
      assert.equal(lines[0], '\u001b[1mpausetrace · vm · bpftrace v0.17.0 · --pod pt-sigterm         \u001b[22m 1 event · 0 lost · \u001b[90mstopped: interrupt\u001b[39m')
    } finally {
      chalk.level = 0
    }
  })
})
