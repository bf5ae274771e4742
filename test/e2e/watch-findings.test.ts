// End to end: the findings of `watch` as they happen. A namespace sandbox whose container's PID 1
// (`sleep`, no handler) drops the SIGTERM the test sends, then is SIGKILLed: on a terminal (tmux,
// the screen read with capture-pane every 50 ms) the finding shows within a second of its last
// piece of evidence (the latency is measured and printed), and `--record` writes a valid file
// with the SIGTERM; piped, the finding is a line among the event lines.
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {ROOT, childrenOf, hasFirstLine, killLeftovers, readRecords, requireTmux, requireTracing, runCli, waitFor} from '../helpers/e2e.js'
import {assertValidRecords} from '../helpers/schema.js'
import {TmuxServer} from '../helpers/tmux.js'
import {readStat} from '../../src/proc/read.js'
import {cleanupAll, execInNsSandbox, nsLink, startNsSandbox} from '../helpers/sandboxes.js'

const SOCKET = `pausetrace-e2e-findings-${process.pid}-${Date.now()}`
const PROMPT = 'ptprompt$ '
const sandboxId = (pid: number): string => `netns:${/\[(\d+)\]/.exec(nsLink(pid, 'net'))?.[1]}`
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

const server = new TmuxServer(SOCKET)
const tmux = (args: string[]): Promise<string> => server.run(args)
const waitScreen = (cond: (s: string) => boolean, ms: number, what: string, everyMs?: number): Promise<string> => server.waitScreen(cond, ms, what, everyMs)

/** A process's start time (ticks since boot, as text): the same PID with another start is another process. */
const startTime = (pid: number): string | undefined => readStat(pid)?.start

const commOf = (pid: number): string | undefined => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
  } catch {
    return undefined
  }
}

/** The screen line that starts with `prefix`. */
const lineOf = (s: string, prefix: string): string => s.split('\n').find((l) => l.startsWith(prefix)) ?? ''

describe('e2e: watch shows findings as they happen', function () {
  this.timeout(180_000)
  let dir = ''
  let socketPath: string | undefined
  let watch: {pid: number; start: string} | undefined

  before(function () {
    requireTracing(this)
  })
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-watch-findings-'))
  })
  afterEach(async function () {
    // the watch process, by PID and start time, if the test left it running
    if (watch && startTime(watch.pid) === watch.start) {
      process.kill(watch.pid, 'SIGTERM')
      await waitFor(() => startTime(watch?.pid ?? 0) !== watch?.start, 15_000, 'watch to stop').catch(() => {
        if (watch && startTime(watch.pid) === watch.start) process.kill(watch.pid, 'SIGKILL')
      })
    }
    watch = undefined
    if (socketPath) {
      await tmux(['kill-server']).catch(() => undefined)
      if (socketPath.endsWith(`/${SOCKET}`)) rmSync(socketPath, {force: true})
      socketPath = undefined
    }
    killLeftovers()
    await cleanupAll()
    if (this.currentTest?.state === 'failed') console.warn(`    kept ${dir} for inspection`)
    else rmSync(dir, {recursive: true, force: true})
  })

  it('on a terminal (tmux): sigterm-ignored-by-pid1 within 1 s of the SIGTERM, grace-period-exhausted within 1 s of the SIGKILL; f lists them; --record is valid', async function () {
    requireTmux(this)
    const sb = await startNsSandbox({sharePid: false})
    const id = sandboxId(sb.pausePid)
    // PID 1 of its own PID namespace, in the sandbox's net/ipc/uts: no SIGTERM handler
    const app = await execInNsSandbox(sb, ['sleep', '1000'], {pidNs: 'own'})
    const rec = path.join(dir, 'watch.jsonl')

    // a 120×30 window running bash (CI unset: under CI watch prints lines)
    await tmux(['new-session', '-d', '-x', '120', '-y', '30', '-s', 'watch', '-c', ROOT, '--', 'env', '-u', 'CI', `PS1=${PROMPT}`, 'bash', '--norc', '--noprofile'])
    socketPath = (await tmux(['display-message', '-p', '#{socket_path}'])).trim()
    await waitScreen((s) => s.includes(PROMPT.trimEnd()), 10_000, 'the shell prompt')
    await tmux(['send-keys', '-t', 'watch', '-l', `clear; node bin/run.js watch --sandbox ${id} --record ${rec}; echo "EXIT=$?"`])
    await tmux(['send-keys', '-t', 'watch', 'Enter'])
    const panePid = Number((await tmux(['display-message', '-p', '-t', 'watch', '#{pane_pid}'])).trim())
    await waitFor(() => {
      const pid = childrenOf(panePid).find((c) => commOf(c) === 'node')
      if (pid) watch = {pid, start: startTime(pid) ?? ''}
      return pid !== undefined
    }, 10_000, 'watch to start')
    await waitFor(() => hasFirstLine(rec), 60_000, 'the header of the --record file')
    await waitScreen((x) => x.split('\n')[0].endsWith(' · live'), 30_000, 'the view, attached')

    // the finding's line starts with its severity and kind, then the sentence that names the sandbox
    const ignored = `warning sigterm-ignored-by-pid1 ${id}: SIGTERM from node[${process.pid}] at +`
    const exhausted = `problem grace-period-exhausted ${id}: SIGTERM from node[${process.pid}] at +`
    /** Sends `sig` to the sleep and polls the screen every 50 ms for `prefix`: ms from the kill to the screen showing it. */
    const latencyOf = async (sig: NodeJS.Signals, prefix: string): Promise<{ms: number; screen: string}> => {
      const t0 = performance.now()
      process.kill(app.pid, sig)
      const s = await waitScreen((x) => lineOf(x, prefix) !== '', 10_000, `${prefix}… on screen after ${sig}`, 50)
      return {ms: Math.round(performance.now() - t0), screen: s}
    }
    const term = await latencyOf('SIGTERM', ignored)
    assert.match(term.screen, / 1 finding \(f\) · sandboxes 1–1 of 1$/m)
    await sleep(1000)
    const kill = await latencyOf('SIGKILL', exhausted)
    await app.exited
    console.log(`      (finding on screen ${term.ms} ms after the SIGTERM, ${kill.ms} ms after the SIGKILL)`)
    assert.ok(term.ms <= 1000, `sigterm-ignored-by-pid1 took ${term.ms} ms to show`)
    assert.ok(kill.ms <= 1000, `grace-period-exhausted took ${kill.ms} ms to show`)
    // both, the newest last, above the status line with their count
    const lines = kill.screen.split('\n').filter((l) => l.trim() !== '')
    const status = lines.findIndex((l) => / 2 findings \(f\) · sandboxes 1–1 of 1$/.test(l))
    assert.ok(status > 1, kill.screen)
    assert.ok(lines[status - 1].startsWith(exhausted), kill.screen)
    assert.ok(lines[status - 2].startsWith(ignored), kill.screen)
    for (const l of kill.screen.split('\n')) assert.ok([...l].length <= 120, l)

    // f: the pane, with every finding's advice; f again closes it
    await tmux(['send-keys', '-t', 'watch', 'f'])
    let s = await waitScreen((x) => x.includes('findings: 2, the newest first (f or esc closes)'), 10_000, 'the findings pane')
    assert.ok(lineOf(s, 'problem grace-period-exhausted at +') !== '', s)
    assert.ok(lineOf(s, 'warning sigterm-ignored-by-pid1 at +') !== '', s)
    assert.match(s, /^ {2}→ handle SIGTERM in sleep, or run it under an init that forwards signals/m)
    await tmux(['send-keys', '-t', 'watch', 'f'])
    await waitScreen((x) => !x.includes('findings: 2, the newest first') && lineOf(x, exhausted) !== '', 10_000, 'the pane closed')

    await tmux(['send-keys', '-t', 'watch', 'q'])
    s = await waitScreen((x) => /^EXIT=\d+$/m.test(x), 60_000, 'watch to exit')
    assert.match(s, /^EXIT=0$/m)
    watch = undefined

    const records = readRecords(rec)
    assertValidRecords(records)
    assert.deepEqual([records[0].type, records.at(-1)?.type, records.at(-1)?.reason], ['header', 'footer', 'interrupt'])
    const toApp = (sig: number): Array<Record<string, any>> => records.filter((r) => r.type === 'event' && r.kind === 'signal' && r.sig === sig && r.to?.pid === app.pid)
    assert.deepEqual(toApp(15).map((r) => [r.result, r.to.innerPid, r.to.sandbox, r.from.pid]), [['ignored', 1, id, process.pid]])
    assert.deepEqual(toApp(9).map((r) => [r.to.sandbox, r.from.pid]), [[id, process.pid]])
  })

  it('piped (lines): the finding is a line among the event lines, printed while the trace runs', async () => {
    const sb = await startNsSandbox({sharePid: false})
    const id = sandboxId(sb.pausePid)
    const app = await execInNsSandbox(sb, ['sleep', '1000'], {pidNs: 'own'})
    const rec = path.join(dir, 'lines.jsonl')
    const run = runCli(['watch', '--sandbox', id, '--record', rec])
    await waitFor(() => hasFirstLine(rec), 60_000, 'the header of the --record file')
    let t0 = performance.now()
    process.kill(app.pid, 'SIGTERM')
    const ignored = /^\+\d+\.\d{6}s finding {2}warning sigterm-ignored-by-pid1: /m
    await waitFor(() => ignored.test(run.stdout()), 10_000, 'the finding line on stdout')
    const termMs = Math.round(performance.now() - t0)
    assert.equal(run.child.exitCode, null)
    await sleep(1000)
    t0 = performance.now()
    process.kill(app.pid, 'SIGKILL')
    const exhausted = new RegExp(`^\\+\\d+\\.\\d{6}s finding {2}problem grace-period-exhausted: ${id}: SIGTERM from node\\[${process.pid}\\] at `, 'm')
    await waitFor(() => exhausted.test(run.stdout()), 10_000, 'the grace-period-exhausted line on stdout')
    const killMs = Math.round(performance.now() - t0)
    console.log(`      (finding lines ${termMs} ms after the SIGTERM, ${killMs} ms after the SIGKILL)`)
    assert.match(run.stdout(), new RegExp(`^\\+\\d+\\.\\d{6}s finding {2}warning sigterm-ignored-by-pid1: ${id}: SIGTERM from node\\[${process.pid}\\] at \\+\\d+\\.\\d{6}s was dropped by the kernel: sleep\\[${app.pid}/1\\] is PID 1 `, 'm'))
    // and the events themselves, as ever
    assert.match(run.stdout(), new RegExp(`^\\+\\d+\\.\\d{6}s signal {3}SIGTERM node\\[${process.pid}\\] → sleep\\[${app.pid}/1\\] @${id} via kill: ignored$`, 'm'))
    run.child.kill('SIGINT')
    assert.deepEqual(await run.exited, {code: 0, signal: null}, run.stderr())
    assert.doesNotMatch(run.stdout(), /\u001b/)
    assertValidRecords(readRecords(rec))
  })
})
