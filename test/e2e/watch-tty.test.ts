import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {promisify} from 'node:util'
import {CLI, ROOT, childrenOf, killLeftovers, readRecords, requireTmux, requireTracing, waitFor} from '../helpers/e2e.js'
import {assertValidRecords} from '../helpers/schema.js'
import {TmuxServer} from '../helpers/tmux.js'
import {readStat} from '../../src/proc/read.js'
import {cleanupAll, createPod, runInPod} from '../helpers/sandboxes.js'

// `watch` in a real terminal: tmux on a server of its own (-L, a name unique to this run), a
// 160×48 window running bash; the test types the command, acts on real podman pods, reads the
// screen with capture-pane, presses keys, and checks the terminal is given back after q.
const execFileAsync = promisify(execFile)
const SOCKET = `pausetrace-e2e-${process.pid}-${Date.now()}`
const PROMPT = 'ptprompt$ '

const server = new TmuxServer(SOCKET)
const tmux = (args: string[]): Promise<string> => server.run(args)
const waitScreen = (cond: (s: string) => boolean, ms: number, what: string, everyMs?: number): Promise<string> => server.waitScreen(cond, ms, what, everyMs)

/** A 160×48 window running bash with a known prompt; CI is unset, since under CI watch prints lines. */
let socketPath: string | undefined

async function openShell(): Promise<void> {
  await tmux(['new-session', '-d', '-x', '160', '-y', '48', '-s', 'watch', '-c', ROOT, '--', 'env', '-u', 'CI', `PS1=${PROMPT}`, 'bash', '--norc', '--noprofile'])
  socketPath = (await tmux(['display-message', '-p', '#{socket_path}'])).trim()
  await waitScreen((s) => s.includes(PROMPT.trimEnd()), 10_000, 'the shell prompt')
}

/** Types a command line and Enter. */
async function type(line: string): Promise<void> {
  await tmux(['send-keys', '-t', 'watch', '-l', line])
  await tmux(['send-keys', '-t', 'watch', 'Enter'])
}

const STTY_G = /^[0-9a-f]+(:[0-9a-f]+)+$/m

/** `stty -g` of the window's terminal, as the shell sees it at its prompt. */
async function sttyG(): Promise<string> {
  await type('clear; stty -g')
  return (STTY_G.exec(await waitScreen((x) => STTY_G.test(x), 10_000, 'stty -g')) as RegExpExecArray)[0]
}

const commOf = (pid: number): string | undefined => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
  } catch {
    return undefined
  }
}

/** The `node` (watch) the shell in the window started (`sub`: inside a subshell), not the `clear` before it. */
async function watchProcess(opts: {sub?: boolean} = {}): Promise<{pid: number; start: string}> {
  const panePid = Number((await tmux(['display-message', '-p', '-t', 'watch', '#{pane_pid}'])).trim())
  let pid = 0
  await waitFor(() => {
    const level = childrenOf(panePid)
    pid = (opts.sub ? level.flatMap((c) => childrenOf(c)) : level).find((c) => commOf(c) === 'node') ?? 0
    return pid > 0
  }, 10_000, 'watch to start')
  return {pid, start: startTime(pid) ?? ''}
}

/** The screen line that starts with `prefix` (after the indent). */
const lineOf = (s: string, prefix: string): string => s.split('\n').find((l) => l.trimStart().startsWith(prefix)) ?? ''

/** A process's start time (ticks since boot, as text): the same PID with another start is another process. */
const startTime = (pid: number): string | undefined => readStat(pid)?.start

describe('e2e: watch in a real terminal (tmux)', function () {
  this.timeout(240_000)
  let watch: {pid: number; start: string} | undefined

  before(function () {
    requireTracing(this)
    requireTmux(this)
  })

  afterEach(async () => {
    // the watch process, by PID and start time, if the test left it running
    if (watch && startTime(watch.pid) === watch.start) {
      process.kill(watch.pid, 'SIGTERM')
      await waitFor(() => startTime(watch?.pid ?? 0) !== watch?.start, 15_000, 'watch to stop').catch(() => {
        if (watch && startTime(watch.pid) === watch.start) process.kill(watch.pid, 'SIGKILL')
      })
    }
    watch = undefined
    await tmux(['kill-server']).catch(() => undefined)
    // the server's socket file stays behind it
    if (socketPath?.endsWith(`/${SOCKET}`)) rmSync(socketPath, {force: true})
    socketPath = undefined
    killLeftovers()
    await cleanupAll()
  })

  it('shows a reap by pause, a zombie, SIGTERM ignored by a PID 1 and SIGHUP to pause; keys work; q exits 0 with the terminal restored', async () => {
    const shared = await createPod({name: 'tty-shared', sharePid: true})
    const priv = await createPod({name: 'tty-private', sharePid: false})
    // shared PID namespace: an orphan, child of catatonit, to be killed and reaped by it
    const ctr = await runInPod(shared, {name: 'tty-orphaner', cmd: ['sh', '-c', '(sleep 1000 &); exec sleep 1001']})
    let orphan = 0
    await waitFor(() => (orphan = childrenOf(shared.infraPid).find((c) => c !== ctr.pid && readFileSync(`/proc/${c}/comm`, 'utf8').trim() === 'sleep') ?? 0) > 0, 10_000, 'the orphan under catatonit')
    // own PID namespace: PID 1 never waits; its child will be a zombie
    const keeper = await runInPod(priv, {name: 'tty-keeper', cmd: ['sh', '-c', 'sleep 1000 & exec sleep 1001']})
    let child = 0
    await waitFor(() => (child = childrenOf(keeper.pid)[0] ?? 0) > 0, 10_000, 'the child of the PID 1')

    await openShell()
    const sttyBefore = await sttyG()
    await type(`clear; node bin/run.js watch --pod ${shared.name} --pod ${priv.name}; echo "EXIT=$?"`)
    watch = await watchProcess()

    let s = await waitScreen((x) => x.split('\n')[0].endsWith(' · live') && x.includes(`▶ ${shared.name} · podman · shared PID ns`) && x.includes(`  ${priv.name} · podman · own PID ns`), 60_000, 'the view, attached')
    assert.equal((await tmux(['display-message', '-p', '-t', 'watch', '#{alternate_on}'])).trim(), '1')

    process.kill(orphan, 'SIGTERM') // reaped by catatonit
    process.kill(child, 'SIGTERM') // a zombie under the PID 1 that never waits
    // (the zombie first, so that the ignored SIGTERM is the private pod's newest event)
    await waitScreen((x) => lineOf(x, `sleep[${child}/`).includes('zombie '), 30_000, 'the zombie')
    process.kill(keeper.pid, 'SIGTERM') // dropped: PID 1 without a handler
    process.kill(shared.infraPid, 'SIGHUP') // catatonit reads it from its signalfd
    s = await waitScreen(
      (x) =>
        lineOf(x, `catatonit[${shared.infraPid}/1]`).includes(`reaped 1, last sleep[${orphan}/`) &&
        lineOf(x, `catatonit[${shared.infraPid}/1]`).includes('SIGHUP consumed') &&
        lineOf(x, `sleep[${orphan}/`).includes(`killed by SIGTERM, reaped by catatonit[${shared.infraPid}/1] in `) &&
        /zombie \d+\.\ds \(parent sleep\[\d+\/1\]\)/.test(lineOf(x, `sleep[${child}/`)) &&
        lineOf(x, `sleep[${keeper.pid}/1]`).includes('SIGTERM ignored'),
      30_000,
      'the reap, the SIGHUP, the zombie and the ignored SIGTERM on screen',
    )
    // marks on the tracks: R (and C) on catatonit's lane, X on the orphan's, Z on the zombie's, I on the PID 1's
    assert.match(lineOf(s, `catatonit[${shared.infraPid}/1]`), /^ {2}catatonit\[\d+\/1\] +[·RC]*R[·RC]* /)
    // (D: the SIGTERM taken by its default action, when it falls in a column of its own)
    assert.match(lineOf(s, `sleep[${orphan}/`), /^ {2}sleep\[\d+\/\d+\] +[·D]*X·* /)
    assert.match(lineOf(s, `sleep[${child}/`), /^ {2}sleep\[\d+\/\d+\] +[·D]*Zz*·* /)
    assert.match(lineOf(s, `sleep[${keeper.pid}/1]`), /^ {2}sleep\[\d+\/1\] +·*I·* /)
    assert.equal(lineOf(s, `sleep[${child}/`).match(/\(parent sleep\[(\d+)\/1\]\)/)?.[1], String(keeper.pid))

    // j: the private pod; enter: its newest event's chain (the ignored SIGTERM)
    await tmux(['send-keys', '-t', 'watch', 'j'])
    await tmux(['send-keys', '-t', 'watch', 'Enter'])
    s = await waitScreen((x) => x.includes(`── ${priv.name} · event 1 of `), 10_000, 'the detail pane of the private pod')
    assert.ok(s.includes(`▶ ${priv.name} · podman · own PID ns`), s)
    assert.ok(s.includes(`generated: ignored, dropped by the kernel (sleep[${keeper.pid}/1] is PID 1 of its namespace and has no handler for SIGTERM)`), s)
    // ←: the zombie's exit, one older
    await tmux(['send-keys', '-t', 'watch', 'Left'])
    s = await waitScreen((x) => x.includes(`not reaped for `) && x.includes(`sleep[${keeper.pid}/1] should reap it with wait4/waitid`), 10_000, 'the zombie chain')
    // ?: the help; ? again closes it
    await tmux(['send-keys', '-t', 'watch', '?'])
    await waitScreen((x) => x.includes('marks (time runs left to right; one lane per process, the pause first)'), 10_000, 'the help')
    await tmux(['send-keys', '-t', 'watch', '?'])
    // /: a text filter hides the other pod
    await tmux(['send-keys', '-t', 'watch', '-l', `/${priv.name}`])
    await tmux(['send-keys', '-t', 'watch', 'Enter'])
    s = await waitScreen((x) => x.includes(`sandboxes 1–1 of 1 matching "${priv.name}"`) && !x.includes('enter keep · esc clear'), 10_000, 'the filter, kept')
    // the shared pod's timeline is gone (its name stays in the header's filters)
    assert.deepEqual(s.split('\n').slice(1).filter((l) => l.includes(shared.name)), [])

    await tmux(['send-keys', '-t', 'watch', 'q'])
    s = await waitScreen((x) => /^EXIT=\d+$/m.test(x), 60_000, 'watch to exit')
    assert.match(s, /^EXIT=0$/m)
    assert.match(s, /^pausetrace: \d+ events \(.*\) in [\d.]+ s → the terminal; \d+ lost .*stopped: interrupt$/m)
    // the alternate screen is left: the shell's screen is back, with no frame of the view on it
    assert.equal((await tmux(['display-message', '-p', '-t', 'watch', '#{alternate_on}'])).trim(), '0')
    // (the screen was cleared before watch started: its summary on stderr is the first line)
    assert.match(s.split('\n')[0], /^pausetrace: \d+ events /)
    assert.ok(!s.includes('q quit · space pause'), s)
    await waitScreen((x) => x.trimEnd().endsWith(PROMPT.trimEnd()), 10_000, 'the prompt again')
    watch = undefined
    // the terminal modes are what they were (echo, canonical input…) and the cursor is visible
    await type('clear; stty -g; stty -a')
    s = await waitScreen((x) => STTY_G.test(x) && x.includes('icanon'), 10_000, 'stty')
    assert.equal((STTY_G.exec(s) as RegExpExecArray)[0], sttyBefore)
    for (const mode of ['icanon', 'echo', 'isig', 'icrnl', 'opost']) assert.match(s, new RegExp(`(^| )${mode}( |$)`, 'm'), `${mode} is on`)
    assert.equal((await tmux(['display-message', '-p', '-t', 'watch', '#{cursor_flag}'])).trim(), '1')
  })

  it('a terminal closed under watch --record (tmux kill-session): watch stops cleanly, bpftrace goes, the file ends with its footer and replays', async () => {
    const pod = await createPod({name: 'tty-closed', sharePid: false})
    // PID 1 never waits: its child, killed, stays a zombie; SIGTERM to the PID 1 is dropped
    const keeper = await runInPod(pod, {name: 'tty-closed-keeper', cmd: ['sh', '-c', 'sleep 1000 & exec sleep 1001']})
    let child = 0
    await waitFor(() => (child = childrenOf(keeper.pid)[0] ?? 0) > 0, 10_000, 'the child of the PID 1')
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-tty-'))
    try {
      const file = path.join(dir, 'closed.jsonl')
      const rc = path.join(dir, 'rc')
      await openShell()
      // The subshell ignores SIGHUP so that it outlives the terminal and writes watch's exit
      // status down; watch sets its own SIGHUP handler, so it gets the terminal's SIGHUPs (one from
      // the shell, one from the kernel as the shell exits) exactly as it would without it.
      await type(`clear; (trap '' HUP; node bin/run.js watch --pod ${pod.name} --record ${file}; echo "EXIT=$?" > ${rc})`)
      watch = await watchProcess({sub: true})
      await waitScreen((x) => x.split('\n')[0].endsWith(' · live') && x.includes(`▶ ${pod.name} · podman · own PID ns`), 60_000, 'the view, attached')
      const bpftrace = childrenOf(watch.pid).filter((c) => commOf(c) === 'bpftrace')
      assert.equal(bpftrace.length, 1, 'one bpftrace child')
      const bpftraceStart = startTime(bpftrace[0])

      process.kill(child, 'SIGTERM') // a zombie under the PID 1 that never waits
      await waitScreen((x) => lineOf(x, `sleep[${child}/`).includes('zombie '), 30_000, 'the zombie')
      process.kill(keeper.pid, 'SIGTERM') // dropped: PID 1 without a handler
      await waitScreen((x) => lineOf(x, `sleep[${keeper.pid}/1]`).includes('SIGTERM ignored'), 30_000, 'the ignored SIGTERM')
      // and events in flight when the terminal closes: a loop of short sleeps (fork, exec, exit, reap)
      await runInPod(pod, {name: 'tty-closed-busy', cmd: ['sh', '-c', 'while :; do sleep 0.01; done']})
      await new Promise((r) => setTimeout(r, 1000))

      const closedAt = Date.now()
      await tmux(['kill-session', '-t', 'watch'])
      const pid = watch.pid
      await waitFor(() => startTime(pid) !== watch?.start, 20_000, `watch (PID ${pid}) to exit after its terminal closed`)
      const took = Date.now() - closedAt
      watch = undefined
      assert.notEqual(startTime(bpftrace[0]) ?? 'gone', bpftraceStart, `bpftrace (PID ${bpftrace[0]}) has exited`)
      await waitFor(() => existsSync(rc), 5_000, 'the exit status')
      // 0: a clean stop (it used to be 1, an uncaught EIO from Ink's next frame, and no footer; or
      // Node's abort at exit, on restoring the modes of the hung-up terminal)
      assert.equal(readFileSync(rc, 'utf8'), 'EXIT=0\n')

      const text = readFileSync(file, 'utf8')
      const records = readRecords(file)
      assertValidRecords(records)
      const events = records.filter((r) => r.type === 'event')
      const footer = records.at(-1) as Record<string, any>
      // the terminal closing is a SIGHUP: reason interrupt, as for Ctrl-C, SIGTERM or q; nothing lost
      assert.deepEqual([footer.type, footer.reason, footer.lost, footer.events], ['footer', 'interrupt', 0, events.length])
      assert.deepEqual(records.filter((r) => r.type === 'lost'), [])
      const sb = records.find((r) => r.type === 'sandbox' && r.pod?.name === pod.name)?.id
      assert.deepEqual(events.filter((e) => e.kind === 'signal' && e.sig === 15 && e.to?.pid === keeper.pid).map((e) => [e.result, e.to.sandbox]), [['ignored', sb]])
      assert.deepEqual(events.filter((e) => e.kind === 'exit' && e.proc.pid === child).map((e) => [e.signal, e.proc.sandbox]), [[15, sb]])
      // replays whole, with no warning
      const replay = await execFileAsync(process.execPath, [CLI, 'replay', file, '--json'])
      assert.deepEqual([replay.stdout, replay.stderr], [text, ''])
      console.log(`      (watch exited ${took} ms after its terminal closed; ${events.length} events)`)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('resized while events flow (40×12, 250×70, 60×6, back to 160×48): redrawn at each size, still running; q exits 0', async () => {
    const pod = await createPod({name: 'tty-resize', sharePid: false})
    // five forks, execs, exits and reaps a second
    await runInPod(pod, {name: 'tty-resize-loop', cmd: ['sh', '-c', 'while true; do sleep 0.2; done']})
    await openShell()
    await type(`clear; node bin/run.js watch --pod ${pod.name}; echo "EXIT=$?"`)
    watch = await watchProcess()
    const header = (x: string): string => x.split('\n')[0]
    const eventsOn = (x: string): number => Number(/ (\d+) events · 0 lost · live$/.exec(header(x))?.[1] ?? -1)
    let s = await waitScreen((x) => eventsOn(x) > 0 && x.includes(`▶ ${pod.name} · podman · own PID ns`), 60_000, 'the view, with events')
    let events = eventsOn(s)
    for (const [w, h] of [[40, 12], [250, 70], [60, 6], [160, 48]]) {
      await tmux(['resize-window', '-t', 'watch', '-x', String(w), '-y', String(h)])
      assert.equal((await tmux(['display-message', '-p', '-t', 'watch', '#{pane_width}x#{pane_height}'])).trim(), `${w}x${h}`)
      if (h < 8) {
        // below 20×8 (its minimum) the view says so and goes on tracing
        s = await waitScreen((x) => header(x) === `pausetrace: ${w}×${h} is too small (20×8 at least); q quits`, 10_000, `the too-small notice at ${w}×${h}`)
      } else {
        // a new frame at the new size: the header spans the width exactly (the state at the right
        // edge), no line is longer (-J would join a wrapped one), and the counter has moved on
        s = await waitScreen(
          (x) => [...header(x)].length === w && x.split('\n').every((l) => [...l].length <= w) && eventsOn(x) > events,
          10_000,
          `a frame at ${w}×${h} with new events`,
        )
        events = eventsOn(s)
        if (w >= 160) assert.ok(s.includes(`▶ ${pod.name} · podman · own PID ns`), s)
      }
      assert.equal(startTime(watch.pid), watch.start, `watch is still running at ${w}×${h}`)
    }
    await tmux(['send-keys', '-t', 'watch', 'q'])
    s = await waitScreen((x) => /^EXIT=\d+$/m.test(x), 60_000, 'watch to exit')
    assert.match(s, /^EXIT=0$/m)
    assert.match(s, /^pausetrace: \d+ events \(.*\) in [\d.]+ s → the terminal; 0 lost .*stopped: interrupt$/m)
    watch = undefined
  })

  it('an error after the view is up (a probe that will not attach): the view goes, then one line, exit 3, the terminal restored', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-tty-'))
    try {
      const fake = path.join(dir, 'attach-fails.sh')
      copyFileSync(path.join(ROOT, 'test/fixtures/fake-bpftrace/attach-fails.sh'), fake)
      chmodSync(fake, 0o755)
      await openShell()
      const before = await sttyG()
      await type(`clear; node bin/run.js watch --bpftrace ${fake}; echo "EXIT=$?"`)
      const panePid = Number((await tmux(['display-message', '-p', '-t', 'watch', '#{pane_pid}'])).trim())
      await waitFor(() => childrenOf(panePid).length > 0, 10_000, 'watch to start')
      const pid = childrenOf(panePid)[0]
      watch = {pid, start: startTime(pid) ?? ''}
      const s = await waitScreen((x) => /^EXIT=\d+$/m.test(x) && x.trimEnd().endsWith(PROMPT.trimEnd()), 60_000, 'watch to fail')
      watch = undefined
      const lines = s.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '')
      assert.equal(lines.length, 3, s)
      assert.match(lines[0], /^pausetrace: bpftrace could not start the probes \(exit 1\): .*ERROR: tracepoint not found: syscalls:sys_enter_nonexistent/)
      assert.deepEqual(lines.slice(1), ['EXIT=3', PROMPT.trimEnd()])
      assert.equal((await tmux(['display-message', '-p', '-t', 'watch', '#{alternate_on}'])).trim(), '0')
      assert.equal(await sttyG(), before)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
