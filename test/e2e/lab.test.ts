// `pausetrace lab` end to end: every exercise on the namespaces runtime and the pod ones on podman,
// each run by the built CLI with --json, as root, with real bpftrace. Each must pass, show the
// decisive kernel events, and leave nothing behind: checked here by PID and start time, pod and
// container id, namespace inode, mount and directory, without the lab's own cleanup code.
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {BPFTRACES, CI, childrenOf, killLeftovers, requireTracing, runCli, waitFor} from '../helpers/e2e.js'
import {assertValidRecords} from '../helpers/schema.js'
import {podmanEnv} from '../helpers/sandboxes.js'

type Rec = Record<string, any>

interface LabRun {
  code: number | null
  stdout: string
  stderr: string
  lab: Rec[]
  trace: Rec[]
  /** clock ticks since boot when the CLI had exited */
  endTicks: number
}

function ticksNow(): number {
  return Math.floor(Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 100)
}

function startOf(pid: number): {start: number; state: string} | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ')
    return {state: f[0], start: Number(f[19])}
  } catch {
    return undefined
  }
}

function parse(stdout: string): {lab: Rec[]; trace: Rec[]} {
  const all = stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Rec)
  return {lab: all.filter((r) => r.type === 'lab'), trace: all.filter((r) => r.type !== 'lab')}
}

async function lab(args: string[], opts: {onStdout?: (run: ReturnType<typeof runCli>) => Promise<void>} = {}): Promise<LabRun> {
  const run = runCli(['lab', ...args, '--json'])
  if (opts.onStdout) await opts.onStdout(run)
  const {code} = await run.exited
  const endTicks = ticksNow()
  return {code, stdout: run.stdout(), stderr: run.stderr(), ...parse(run.stdout()), endTicks}
}

function exitCode(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    execFile(cmd, args, {env, timeout: 60_000}, (err) => resolve(err ? (typeof (err as {code?: unknown}).code === 'number' ? ((err as {code: number}).code) : -1) : 0))
  })
}

function nsHolders(type: string, inode: number): number[] {
  const want = `${type}:[${inode}]`
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readlinkSync(`/proc/${d}/ns/${type}`) === want
      } catch {
        return false
      }
    })
    .map(Number)
}

/**
 * Nothing the lab made or ran is left: its processes (by PID and start time; a zombie is still a
 * /proc entry), every process the trace saw in its sandboxes, its namespaces (no process of the lab
 * in them; under CI, where nothing else runs, no process at all that started before the lab ended),
 * its pods and containers, their mounts, its directory.
 */
async function assertNothingLeft(r: LabRun): Promise<void> {
  const cleanup = r.lab.find((x) => x.kind === 'cleanup')
  assert.ok(cleanup, 'a cleanup record')
  assert.deepEqual(cleanup.leftovers, [])
  const made = cleanup.made as Rec[]
  const problems: string[] = []
  const ours = new Set<number>()
  for (const m of made.filter((x) => x.what === 'process')) {
    ours.add(m.pid)
    if (startOf(m.pid)?.start === Number(m.start)) problems.push(`process ${m.comm} ${m.pid} is still there (${startOf(m.pid)?.state})`)
  }
  const sandboxIds = new Set(r.lab.filter((x) => x.kind === 'sandbox').map((x) => x.sandboxId as string))
  for (const e of r.trace.filter((x) => x.type === 'event')) {
    for (const p of [e.from, e.to, e.proc, e.reaper, e.child, e.parent]) if (p && sandboxIds.has(p.sandbox)) ours.add(p.pid)
  }
  const madeNs = made.filter((x) => x.what === 'namespace')
  const inMadeNamespace = (pid: number): boolean => madeNs.some((ns) => nsHolders(ns.type, ns.inode).includes(pid))
  for (const pid of ours) {
    if (made.some((m) => m.what === 'process' && m.pid === pid)) continue
    const st = startOf(pid)
    // A PID the trace saw, alive now and started before the lab ended: the same process, unless
    // the PID was reused meanwhile (possible on a busy machine, so off CI it must also still be
    // in one of the lab's namespaces).
    if (st && st.start <= r.endTicks && (CI || inMadeNamespace(pid))) problems.push(`process ${pid}, seen in the lab's sandboxes, is still there (${st.state})`)
  }
  for (const ns of madeNs) {
    const held = nsHolders(ns.type, ns.inode).filter((pid) => {
      const st = startOf(pid)
      return st !== undefined && st.start <= r.endTicks && (CI || ours.has(pid))
    })
    if (held.length) problems.push(`${ns.type} namespace ${ns.inode} still holds ${held.join(', ')}`)
  }
  const env = {...process.env, CONTAINERS_CONF: made.some((m) => m.what === 'pod') ? podmanEnv().containersConf : undefined}
  for (const m of made.filter((x) => x.what === 'pod' || x.what === 'container')) {
    const rc = await exitCode('podman', [m.what, 'exists', m.id], env)
    if (rc !== 1) problems.push(`${m.what} ${m.name} ${m.id}: podman ${m.what} exists answered ${rc}`)
  }
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8') + readFileSync('/proc/1/mountinfo', 'utf8')
  for (const m of made) {
    if (m.what === 'container' && mountinfo.includes(m.id)) problems.push(`container ${m.id} still has a mount`)
    if (m.what === 'mount' && mountinfo.includes(` ${m.path} `)) problems.push(`${m.path} is still mounted`)
    if (m.what === 'directory' && existsSync(m.path)) problems.push(`${m.path} is still there`)
  }
  assert.deepEqual(problems, [])
}

const events = (r: LabRun): Rec[] => r.trace.filter((x) => x.type === 'event')
const sandbox = (r: LabRun, name: string): Rec => r.lab.find((x) => x.kind === 'sandbox' && x.name === name) as Rec
const container = (r: LabRun, name: string): Rec => r.lab.find((x) => x.kind === 'container' && x.name === name) as Rec

/** The decisive events of each exercise, asserted on the trace itself (not through the lab's patterns). */
const DECISIVE: Record<string, (r: LabRun, runtime: string) => void> = {
  'pause-anatomy'(r) {
    const a = sandbox(r, 'anatomy')
    const reaps = events(r).filter((e) => e.kind === 'reap' && e.reaper.pid === a.pausePid)
    assert.deepEqual(reaps.map((e) => [e.reaper.innerPid, e.reaper.role, e.syscall, e.options, e.status, e.statusFrom]), [[1, 'pause', 'wait4', ['WNOHANG'], {exited: 7}, 'exit']])
    const toPause = events(r).filter((e) => e.kind === 'signal' && e.to?.pid === a.pausePid && e.via === 'kill')
    assert.deepEqual(toPause.map((e) => [e.signame, e.result, e.to.innerPid]), [['SIGHUP', 'ignored', 1], ['SIGTERM', 'delivered', 1]])
    const b = sandbox(r, 'anatomy-int')
    assert.deepEqual(events(r).filter((e) => e.kind === 'exit' && [a.pausePid, b.pausePid].includes(e.proc.pid)).map((e) => [e.proc.pid, e.code]), [[a.pausePid, 0], [b.pausePid, 0]])
  },
  'shared-pid'(r, runtime) {
    const t = sandbox(r, 'shared')
    const f = sandbox(r, 'own')
    const own = container(r, 'own-app')
    const reaps3 = events(r).filter((e) => e.kind === 'reap' && e.status.exited === 3)
    assert.deepEqual(reaps3.map((e) => [e.reaper.pid, e.reaper.innerPid, e.child.sandbox]).sort(), [[t.pausePid, 1, t.sandboxId], [own.pid, 1, f.sandboxId]].sort())
    const hups = events(r).filter((e) => e.kind === 'signal' && e.signame === 'SIGHUP')
    assert.deepEqual(hups.map((e) => [e.to.pid, e.to.innerPid, e.result]), [[t.pausePid, 1, runtime === 'podman' ? 'delivered' : 'ignored'], [own.pid, 1, 'ignored']])
  },
  'pid1-ignores-sigterm'(r) {
    const app = container(r, 'app')
    const sigs = events(r).filter((e) => e.kind === 'signal' && e.to?.pid === app.pid && e.via === 'kill')
    assert.deepEqual(sigs.map((e) => [e.signame, e.to.innerPid, e.from.role, e.result]), [['SIGTERM', 1, 'host', 'ignored'], ['SIGTERM', 1, 'container', 'ignored'], ['SIGKILL', 1, 'host', 'delivered']])
    assert.deepEqual(events(r).filter((e) => e.kind === 'exit' && e.proc.pid === app.pid && e.groupDead).map((e) => e.signal), [9])
  },
  zombies(r) {
    const keeper = container(r, 'keeper')
    const p = sandbox(r, 'pause-reaps')
    assert.deepEqual(events(r).filter((e) => e.kind === 'signal' && e.signame === 'SIGCHLD' && e.to?.pid === keeper.pid && e.code === 'CLD_EXITED').map((e) => [e.to.innerPid, e.result]).at(-1), [1, 'ignored'])
    assert.deepEqual(events(r).filter((e) => e.kind === 'reap' && e.status.exited === 4).map((e) => [e.reaper.pid, e.reaper.role]), [[p.pausePid, 'pause']])
  },
  'kill-pause'(r) {
    const s = sandbox(r, 'shared')
    const cs = container(r, 'shared-app')
    const co = container(r, 'own-app')
    assert.deepEqual(events(r).filter((e) => e.kind === 'signal' && e.via === 'kernel' && e.signame === 'SIGKILL' && e.to?.pid === cs.pid).map((e) => [e.from.pid, e.result]), [[s.pausePid, 'delivered']])
    assert.deepEqual(events(r).filter((e) => e.kind === 'signal' && e.to?.pid === co.pid && !/^runc/.test(e.from.comm)), [])
  },
  'stop-continue'(r) {
    const sup = container(r, 'supervisor')
    const reports = events(r).filter((e) => e.kind === 'reap' && e.reaper.pid === sup.pid)
    assert.deepEqual(reports.map((e) => [e.child.comm, e.status, e.options]), [
      ['worker', {stopped: 19}, ['WUNTRACED', 'WCONTINUED']],
      ['worker', {continued: true}, ['WUNTRACED', 'WCONTINUED']],
      ['worker', {signaled: 15, core: false}, ['WUNTRACED', 'WCONTINUED']],
    ])
  },
}

const CASES: Array<[string, 'namespaces' | 'podman', number]> = [
  ['pause-anatomy', 'namespaces', 20],
  ['shared-pid', 'namespaces', 7],
  ['pid1-ignores-sigterm', 'namespaces', 9],
  ['zombies', 'namespaces', 9],
  ['kill-pause', 'namespaces', 10],
  ['stop-continue', 'namespaces', 13],
  ['shared-pid', 'podman', 8],
  ['pid1-ignores-sigterm', 'podman', 9],
  ['zombies', 'podman', 9],
  ['kill-pause', 'podman', 10],
  ['stop-continue', 'podman', 13],
]

describe('e2e: pausetrace lab', function () {
  this.timeout(180_000)
  let dir: string
  before(function () {
    requireTracing(this)
    dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-e2e-lab-'))
  })
  afterEach(() => killLeftovers())
  after(() => {
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  for (const [id, runtime, expected] of CASES) {
    it(`${id} on ${runtime}: every expectation is seen, and nothing is left behind`, async () => {
      const r = await lab([id, '--runtime', runtime])
      assert.equal(r.code, 0, `${r.stderr}\n${r.lab.filter((x) => x.kind === 'check' && !x.ok).map((x) => JSON.stringify(x)).join('\n')}`)
      assert.equal(r.stderr, '')
      assert.deepEqual(r.lab.find((x) => x.kind === 'result'), {type: 'lab', kind: 'result', ok: true, expected, seen: expected, missing: [], interrupted: false, error: null, lost: 0, leftovers: 0})
      const checks = r.lab.filter((x) => x.kind === 'check' || x.kind === 'fact')
      assert.equal(checks.length, expected)
      assert.deepEqual(checks.filter((x) => !x.ok), [])
      assertValidRecords(r.trace)
      assert.deepEqual([r.trace[0].type, r.trace.at(-1)?.type], ['header', 'footer'])
      assert.equal(r.trace.at(-1)?.reason, 'duration')
      DECISIVE[id](r, runtime)
      await assertNothingLeft(r)
    })
  }

  for (const runtime of ['namespaces', 'podman'] as const) {
    it(`Ctrl-C (${runtime}): stops at once, cleans up, exits 1 with nothing checked`, async () => {
      const r = await lab(['kill-pause', '--runtime', runtime], {
        async onStdout(run) {
          await waitFor(() => run.stdout().includes('"kind":"container"'), 120_000, 'the first container')
          run.child.kill('SIGINT')
        },
      })
      assert.equal(r.code, 1, r.stderr)
      assert.equal(r.stderr, `pausetrace: kill-pause on ${runtime}: the lab was interrupted.\n`)
      const result = r.lab.find((x) => x.kind === 'result') as Rec
      assert.deepEqual([result.ok, result.interrupted, result.leftovers], [false, true, 0])
      assert.equal(r.trace.at(-1)?.reason, 'interrupt')
      assert.ok(r.lab.filter((x) => x.kind === 'sandbox').length >= 1)
      await assertNothingLeft(r)
    })
  }

  it('bpftrace dies mid-exercise: exit 4 with the reason, the sandboxes removed', async () => {
    let bpftrace = 0
    const r = await lab(['kill-pause'], {
      async onStdout(run) {
        await waitFor(() => run.stdout().includes('"kind":"container"'), 120_000, 'the first container')
        bpftrace = childrenOf(run.child.pid ?? 0).find((c) => readFileSync(`/proc/${c}/comm`, 'utf8').trim() === 'bpftrace') ?? 0
        assert.ok(bpftrace > 0, 'bpftrace is a child of pausetrace')
        process.kill(bpftrace, 'SIGKILL')
      },
    })
    assert.equal(r.code, 4, r.stderr)
    assert.equal(r.stderr, 'pausetrace: bpftrace exited during the lab exercise; the sandboxes were removed\n')
    assert.equal(r.trace.at(-1)?.reason, 'bpftrace-exit')
    assert.equal(r.lab.find((x) => x.kind === 'result'), undefined)
    await assertNothingLeft(r)
  })

  it('a failing step (podman run refused): exit 1 with the reason, the pod already made is removed', async () => {
    const bin = path.join(dir, 'bin')
    mkdirSync(bin, {recursive: true})
    // podman, except that `podman run` fails: the exercise's pod exists, its container cannot start.
    writeFileSync(path.join(bin, 'podman'), '#!/bin/sh\nif [ "$1" = run ]; then echo "Error: refused by the lab test" >&2; exit 125; fi\nexec /usr/bin/podman "$@"\n')
    chmodSync(path.join(bin, 'podman'), 0o755)
    const run = runCli(['lab', 'zombies', '--runtime', 'podman', '--json'], {env: {PATH: `${bin}:${process.env.PATH ?? ''}`}})
    const {code} = await run.exited
    const r: LabRun = {code, stdout: run.stdout(), stderr: run.stderr(), ...parse(run.stdout()), endTicks: ticksNow()}
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, /^pausetrace: zombies on podman: the exercise stopped early \(podman run -d --pod [0-9a-f]{64} --name pausetrace-lab-\d+-keeper --rootfs \S+ sh -c .* failed \(exit 125\): Error: refused by the lab test\)\.\n$/)
    const result = r.lab.find((x) => x.kind === 'result') as Rec
    assert.deepEqual([result.ok, result.interrupted, result.expected, result.leftovers], [false, false, 0, 0])
    assert.match(result.error, /failed \(exit 125\): Error: refused by the lab test$/)
    assert.deepEqual(r.lab.filter((x) => x.kind === 'sandbox').map((x) => x.name), ['no-reaper'])
    assert.equal(r.lab.find((x) => x.kind === 'cleanup')?.made.filter((m: Rec) => m.what === 'pod').length, 1)
    await assertNothingLeft(r)
  })

  it('a mismatch: with the deliver lines dropped, the handler expectations are listed as not seen, exit 1', async () => {
    const wrapper = path.join(dir, 'bpftrace-no-deliver.sh')
    // Runs the real bpftrace, minus every signal_deliver (`D`) line of its JSON output.
    writeFileSync(wrapper, `#!/bin/sh\nif [ "$1" = "--version" ]; then exec ${BPFTRACES[0].command} --version; fi\n${BPFTRACES[0].command} "$@" | grep --line-buffered -v '"data": "D '\n`)
    chmodSync(wrapper, 0o755)
    const r = await lab(['pause-anatomy', '--bpftrace', wrapper, '--step-timeout', '1500ms'])
    assert.equal(r.code, 1, r.stderr)
    assert.equal(r.stderr, 'pausetrace: pause-anatomy on namespaces: 3 expectation(s) were not met (listed above).\n')
    const result = r.lab.find((x) => x.kind === 'result') as Rec
    assert.deepEqual(
      result.missing.map((m: Rec) => [m.step, m.text, m.absent, m.t]),
      [
        [2, "pause's SIGCHLD handler runs", false, null],
        [4, "pause's SIGTERM handler runs", false, null],
        [5, "pause's SIGINT handler runs", false, null],
      ],
    )
    assert.deepEqual([result.ok, result.expected, result.seen], [false, 20, 17])
    // the kernel counted the deliveries the wrapper dropped: they show as lost, never as seen
    assert.ok(result.lost >= 3, `lost ${result.lost}`)
    assert.deepEqual(events(r).filter((e) => e.kind === 'deliver'), [])
    await assertNothingLeft(r)
  })
})

describe('e2e: pausetrace lab, usage (no tracing needed)', function () {
  this.timeout(60_000)
  afterEach(() => killLeftovers())

  it('lists the exercises, one JSON object a line', async () => {
    const run = runCli(['lab', '--json'])
    assert.equal((await run.exited).code, 0, run.stderr())
    assert.deepEqual(
      run.stdout().trim().split('\n').map((l) => JSON.parse(l) as Rec).map((x) => [x.id, x.runtimes]),
      [
        ['pause-anatomy', ['namespaces']],
        ['shared-pid', ['namespaces', 'podman']],
        ['pid1-ignores-sigterm', ['namespaces', 'podman']],
        ['zombies', ['namespaces', 'podman']],
        ['kill-pause', ['namespaces', 'podman']],
        ['stop-continue', ['namespaces', 'podman']],
      ],
    )
  })

  it('an unknown exercise, or a runtime it does not support, is a usage error (exit 2)', async () => {
    const unknown = runCli(['lab', 'nope'])
    assert.equal((await unknown.exited).code, 2)
    assert.equal(unknown.stderr(), 'pausetrace: there is no lab exercise "nope"; run `pausetrace lab` to list them (pause-anatomy, shared-pid, pid1-ignores-sigterm, zombies, kill-pause, stop-continue).\n')
    const podman = runCli(['lab', 'pause-anatomy', '--runtime', 'podman'])
    assert.equal((await podman.exited).code, 2)
    assert.equal(podman.stderr(), 'pausetrace: exercise pause-anatomy runs on namespaces only; use --runtime namespaces.\n')
    const bogus = runCli(['lab', 'zombies', '--runtime', 'docker'])
    assert.equal((await bogus.exited).code, 2)
    assert.match(bogus.stderr(), /^pausetrace: .*docker.*namespaces, podman.*\(see --help\)\n$/)
  })
})
