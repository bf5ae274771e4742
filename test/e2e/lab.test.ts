// `pausetrace lab` end to end: every exercise on the namespaces runtime and the pod ones on podman,
// each run by the built CLI with --json, as root, with real bpftrace. Each must pass, show the
// decisive kernel events, and leave nothing behind: checked here by PID and start time, pod and
// container id, namespace inode, mount and directory, without the lab's own cleanup code.
import assert from 'node:assert/strict'
import {chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {BPFTRACES, childrenOf, killLeftovers, requireTracing, runCli, waitFor} from '../helpers/e2e.js'
import {DECISIVE, assertLabFindings, assertNothingLeft, events, lab, parse, ticksNow, type LabRun, type Rec} from '../helpers/lab.js'
import {assertValidRecords} from '../helpers/schema.js'

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
      assertValidRecords(r.findings)
      assertLabFindings(r, id, runtime)
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
        ['pause-anatomy', ['namespaces', 'cri']],
        ['shared-pid', ['namespaces', 'podman', 'cri']],
        ['pid1-ignores-sigterm', ['namespaces', 'podman', 'cri']],
        ['zombies', ['namespaces', 'podman', 'cri']],
        ['kill-pause', ['namespaces', 'podman', 'cri']],
        ['stop-continue', ['namespaces', 'podman', 'cri']],
      ],
    )
  })

  it('an unknown exercise, or a runtime it does not support, is a usage error (exit 2)', async () => {
    const unknown = runCli(['lab', 'nope'])
    assert.equal((await unknown.exited).code, 2)
    assert.equal(unknown.stderr(), 'pausetrace: there is no lab exercise "nope"; run `pausetrace lab` to list them (pause-anatomy, shared-pid, pid1-ignores-sigterm, zombies, kill-pause, stop-continue).\n')
    const podman = runCli(['lab', 'pause-anatomy', '--runtime', 'podman'])
    assert.equal((await podman.exited).code, 2)
    assert.equal(podman.stderr(), 'pausetrace: exercise pause-anatomy runs on namespaces and cri only; use --runtime namespaces.\n')
    const bogus = runCli(['lab', 'zombies', '--runtime', 'docker'])
    assert.equal((await bogus.exited).code, 2)
    assert.match(bogus.stderr(), /^pausetrace: .*docker.*namespaces, podman, cri.*\(see --help\)\n$/)
  })
})
