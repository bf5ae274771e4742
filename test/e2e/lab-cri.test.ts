// `pausetrace lab --runtime cri` end to end: every exercise on real pod sandboxes of a private
// containerd that the lab starts and stops, run by the built CLI with --json, as root, with real
// bpftrace. Each must pass, show the decisive kernel events (kill-pause: the sandbox re-created by
// the kubelet step, attempt 1, `replaces` set) and leave nothing behind, Ctrl-C included:
// processes by PID and start time, namespaces, mounts, the temp dirs, the bridge and the cgroups.
import assert from 'node:assert/strict'
import {existsSync, readFileSync, readdirSync} from 'node:fs'
import {killLeftovers, requireTracing, waitFor} from '../helpers/e2e.js'
import {requireContainerd} from '../helpers/containerd.js'
import {DECISIVE, assertLabFindings, assertNothingLeft, lab, type Rec} from '../helpers/lab.js'
import {assertValidRecords} from '../helpers/schema.js'

const CASES: Array<[string, number]> = [
  ['pause-anatomy', 20],
  ['shared-pid', 7],
  ['pid1-ignores-sigterm', 9],
  ['zombies', 9],
  // 10 as elsewhere; both pods named (attempt 0) before pause dies; the kubelet step: 3 for the
  // stopped container, 3 for each new sandbox
  ['kill-pause', 21],
  ['stop-continue', 13],
]

/** What the lab made that only a private containerd makes: its process, a shim, its bridge and cgroup. */
function assertContainerdWasOurs(r: {lab: Rec[]}): void {
  const made = (r.lab.find((x) => x.kind === 'cleanup') as Rec).made as Rec[]
  const comms = made.filter((m) => m.what === 'process').map((m) => m.comm as string)
  assert.ok(comms.includes('containerd') && comms.includes('containerd-shim-runc-v2'), comms.join(', '))
  assert.deepEqual(made.filter((m) => m.what === 'link').map((m) => /^ptcri\d+$/.test(m.name)), [true])
  assert.deepEqual(made.filter((m) => m.what === 'cgroup').map((m) => /^\/pausetrace-cri-\d+$/.test(m.path)), [true])
}

describe('e2e: pausetrace lab --runtime cri (a private containerd)', function () {
  this.timeout(300_000)
  before(function () {
    requireTracing(this)
    requireContainerd(this)
  })
  afterEach(() => killLeftovers())

  for (const [id, expected] of CASES) {
    it(`${id} on cri: every expectation is seen, and nothing is left behind`, async () => {
      const r = await lab([id, '--runtime', 'cri'])
      assert.equal(r.code, 0, `${r.stderr}\n${r.lab.filter((x) => (x.kind === 'check' || x.kind === 'fact') && !x.ok).map((x) => JSON.stringify(x)).join('\n')}`)
      assert.equal(r.stderr, '')
      assert.deepEqual(r.lab.find((x) => x.kind === 'result'), {type: 'lab', kind: 'result', ok: true, expected, seen: expected, missing: [], interrupted: false, error: null, lost: 0, leftovers: 0})
      const checks = r.lab.filter((x) => x.kind === 'check' || x.kind === 'fact')
      assert.equal(checks.length, expected)
      assertValidRecords(r.trace)
      assert.deepEqual([r.trace[0].type, r.trace.at(-1)?.type, r.trace.at(-1)?.reason], ['header', 'footer', 'duration'])
      // every sandbox of the lab is a CRI pod the trace named from the private containerd's socket,
      // as that pod and no other
      for (const sb of r.lab.filter((x) => x.kind === 'sandbox')) {
        const recs = r.trace.filter((x) => x.type === 'sandbox' && x.id === sb.sandboxId)
        const pods = [...new Set(recs.filter((x) => x.runtime === 'containerd').map((x) => `${x.pod?.namespace}/${x.pod?.name}`))]
        assert.deepEqual([pods, sb.pauseComm, sb.parentComm], [[`pausetrace-lab/${sb.name}`], 'pause', 'containerd-shim'], JSON.stringify(recs))
      }
      DECISIVE[id](r, 'cri')
      assertValidRecords(r.findings)
      assertLabFindings(r, id, 'cri')
      assertContainerdWasOurs(r)
      await assertNothingLeft(r)
    })
  }

  it('Ctrl-C (cri): stops at once, removes the pods, containerd, its shims, mounts, bridge and cgroups, exits 1', async () => {
    const r = await lab(['kill-pause', '--runtime', 'cri'], {
      async onStdout(run) {
        await waitFor(() => run.stdout().includes('"kind":"container"'), 120_000, 'the first container')
        run.child.kill('SIGINT')
      },
    })
    assert.equal(r.code, 1, r.stderr)
    assert.equal(r.stderr, 'pausetrace: kill-pause on cri: the lab was interrupted.\n')
    const result = r.lab.find((x) => x.kind === 'result') as Rec
    assert.deepEqual([result.ok, result.interrupted, result.leftovers], [false, true, 0])
    assert.equal(r.trace.at(-1)?.reason, 'interrupt')
    assert.ok(r.lab.filter((x) => x.kind === 'sandbox').length >= 1)
    assertContainerdWasOurs(r)
    await assertNothingLeft(r)
  })

  it('Ctrl-C while containerd starts: exits 1 as interrupted; its temp dir and process are gone', async () => {
    const r = await lab(['zombies', '--runtime', 'cri'], {
      async onStdout(run) {
        await waitFor(() => run.stdout().includes('"argv":["/usr/bin/containerd"'), 120_000, 'containerd to be started')
        run.child.kill('SIGINT')
      },
    })
    assert.equal(r.code, 1, r.stderr)
    assert.equal(r.stderr, 'pausetrace: zombies on cri: the lab was interrupted.\n')
    const result = r.lab.find((x) => x.kind === 'result') as Rec
    assert.deepEqual([result.ok, result.interrupted, result.expected, result.leftovers], [false, true, 0, 0])
    const config = (r.lab.find((x) => x.kind === 'command' && x.argv[0] === '/usr/bin/containerd') as Rec).argv[2] as string
    assert.match(config, /^\/tmp\/pausetrace-cri-\w+\/config\.toml$/)
    assert.equal(existsSync(config.slice(0, config.lastIndexOf('/'))), false, 'the temp dir is gone')
    const running = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(config)
      } catch {
        return false
      }
    })
    assert.deepEqual(running, [], 'no process runs with its config')
  })
})
