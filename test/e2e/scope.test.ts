import assert from 'node:assert/strict'
import {execFileSync, spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {BPFTRACES, childrenOf, hasFirstLine, requireBpftrace, killLeftovers, readRecords, requireTracing, runCli, waitFor} from '../helpers/e2e.js'
import {buildWorkload, type Manifest} from '../helpers/workload.js'
import {assertValidRecords} from '../helpers/schema.js'

/** A bare-namespace sandbox: unshare (in the new net/ipc/uts namespaces) and its child `sleep`, PID 1 of a new PID namespace. */
async function startSandbox(): Promise<{unshare: ChildProcess; pid1: number}> {
  const unshare = spawn('unshare', ['--pid', '--fork', '--net', '--ipc', '--uts', '--mount-proc', '--kill-child', 'sleep', '1000'], {stdio: 'ignore'})
  let pid1 = 0
  await waitFor(() => {
    pid1 = childrenOf(unshare.pid as number)[0] ?? 0
    return pid1 > 0 && readFileSync(`/proc/${pid1}/comm`, 'utf8').trim() === 'sleep'
  }, 10_000, 'the sandbox PID 1')
  return {unshare, pid1}
}

/**
 * A host process that signals itself (SIGUSR1 × 3: out of scope, its verdict is cached as the
 * host's), then unshares its net namespace and signals itself once more (SIGUSR2: in scope now).
 * Prints its PID and how many signals its handler saw.
 */
const UNSHARER = `#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
static volatile sig_atomic_t got;
static void on(int s) { (void)s; got++; }
int main(void) {
	signal(SIGUSR1, on);
	signal(SIGUSR2, on);
	for (int i = 0; i < 3; i++) kill(getpid(), SIGUSR1);
	if (unshare(CLONE_NEWNET) != 0) { perror("unshare"); return 2; }
	kill(getpid(), SIGUSR2);
	printf("%d %d\\n", (int)getpid(), (int)got);
	return 0;
}
`

describe('e2e: the default scope is sandboxes', function () {
  this.timeout(120_000)
  let dir: string
  const sandboxes: ChildProcess[] = []

  before(function () {
    requireTracing(this)
  })
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-e2e-'))
  })
  afterEach(() => {
    killLeftovers()
    for (const s of sandboxes.splice(0)) s.kill('SIGKILL')
    rmSync(dir, {recursive: true, force: true})
  })

  for (const bt of BPFTRACES) it(`traces signals from the host to sandboxes made before and after the start, and leaves host-only activity out (bpftrace ${bt.label})`, async function () {
    requireBpftrace(this, bt)
    const sigwork = buildWorkload()
    const before = await startSandbox()
    sandboxes.push(before.unshare)
    const out = path.join(dir, 'trace.jsonl')
    const run = runCli(['record', '-o', out, '--bpftrace', bt.command])
    await waitFor(() => hasFirstLine(out), 60_000, 'the trace header')
    const after = await startSandbox()
    sandboxes.push(after.unshare)
    const manifest = JSON.parse(execFileSync(sigwork, ['--flood', '200', '--forks', '5']).toString()) as Manifest
    for (const sb of [before, after]) process.kill(sb.pid1, 'SIGTERM')
    await new Promise((r) => setTimeout(r, 100))
    for (const sb of [before, after]) process.kill(sb.pid1, 'SIGKILL')
    await Promise.all([before, after].map((sb) => new Promise((r) => (sb.unshare.exitCode !== null ? r(null) : sb.unshare.on('exit', r)))))
    run.child.kill('SIGINT')
    const {code} = await run.exited
    assert.equal(code, 0, run.stderr())

    const records = readRecords(out)
    assertValidRecords(records)
    // bpftrace 0.18+ reads the target task in the kernel (rawtracepoint); 0.17 looks it up in /proc
    assert.equal(records[0].signalTargets, bt.label.startsWith('0.17') ? 'proc' : 'kernel')
    const events = records.filter((r) => r.type === 'event')
    assert.deepEqual(records.filter((r) => r.type === 'lost'), [])
    for (const sb of [before, after]) {
      const sigs = events.filter((e) => e.kind === 'signal' && e.from.pid === process.pid && e.to?.pid === sb.pid1)
      assert.deepEqual(sigs.map((e) => [e.signame, e.result, e.to.innerPid, e.target.pid]), [['SIGTERM', 'ignored', 1, sb.pid1], ['SIGKILL', 'delivered', 1, sb.pid1]])
      const exit = events.filter((e) => e.kind === 'exit' && e.proc.pid === sb.pid1)
      assert.deepEqual(exit.map((e) => [e.signal, e.proc.innerPid]), [[9, 1]])
      const reap = events.filter((e) => e.kind === 'reap' && e.child.pid === sb.pid1)
      assert.deepEqual(reap.map((e) => [e.reaper.pid, e.status]), [[sb.unshare.pid, {signaled: 9, core: false}]])
    }
    // sigwork on the host: its flood, forks and reaps are outside every sandbox...
    assert.equal(events.filter((e) => e.kind === 'signal' && e.from.pid === manifest.pid && e.to?.pid === manifest.pid).length, 0)
    assert.equal(events.filter((e) => e.kind === 'flood').length, 0)
    assert.equal(events.filter((e) => e.kind === 'reap' && manifest.forks.some((f) => f.pid === e.child.pid)).length, 0)
    // ...but the PID namespace it makes is a sandbox: its init's SIGTERM (ignored) and SIGKILL are there.
    const toInit = events.filter((e) => e.kind === 'signal' && e.from.pid === manifest.pid && e.to?.pid === manifest.nsinit.pid)
    assert.deepEqual(toInit.map((e) => [e.signame, e.result]), [['SIGTERM', 'ignored'], ['SIGKILL', 'delivered']])
  })

  // The kernel side caches each task's verdict (in a sandbox or not); unshare/setns must drop it.
  for (const bt of BPFTRACES) it(`traces a host process from the moment it unshares its net namespace (bpftrace ${bt.label})`, async function () {
    requireBpftrace(this, bt)
    const src = path.join(dir, 'unsharer.c')
    const bin = path.join(dir, 'unsharer')
    writeFileSync(src, UNSHARER)
    execFileSync('gcc', ['-O1', '-Wall', '-o', bin, src])
    const out = path.join(dir, 'trace.jsonl')
    const run = runCli(['record', '-o', out, '--bpftrace', bt.command])
    await waitFor(() => hasFirstLine(out), 60_000, 'the trace header')
    const [pid, got] = execFileSync(bin).toString().trim().split(' ').map(Number)
    assert.equal(got, 4, 'the handler saw every signal')
    run.child.kill('SIGINT')
    const {code} = await run.exited
    assert.equal(code, 0, run.stderr())

    const records = readRecords(out)
    assertValidRecords(records)
    const events = records.filter((r) => r.type === 'event')
    assert.deepEqual(records.filter((r) => r.type === 'lost'), [])
    // before the unshare: on the host, out of scope; after: in its own net namespace, a sandbox
    const sent = events.filter((e) => e.kind === 'signal' && e.via === 'kill' && e.from.pid === pid)
    assert.deepEqual(sent.map((e) => [e.signame, e.from.sandbox?.startsWith('netns:')]), [['SIGUSR2', true]])
    const delivered = events.filter((e) => e.kind === 'deliver' && e.proc.pid === pid)
    assert.deepEqual(delivered.map((e) => e.signame), ['SIGUSR2'])
  })
})
