// End to end on a real CRI runtime: a private containerd (src/lab/containerd.ts) runs a pod
// sandbox with the lab's pause and one container, and `pausetrace pods` names them from the CRI
// socket; then everything is removed and checked gone. Needs root, containerd and the CNI plugins.
import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {killLeftovers, runCli} from '../helpers/e2e.js'
import {requireContainerd} from '../helpers/containerd.js'
import {assertValidRecords} from '../helpers/schema.js'
import {PrivateContainerd, mountsUnder} from '../../src/lab/containerd.js'
import {runContainer, runPod, type RunningContainer, type RunningPod} from '../../src/lab/cri-pods.js'
import {exists, identify, type ProcIdentity} from '../../src/lab/procs.js'

type Rec = Record<string, any>

describe('e2e: a real CRI runtime (private containerd)', function () {
  this.timeout(240_000)
  let cd: PrivateContainerd | undefined
  let pod: RunningPod
  let ctr: RunningContainer
  let podProcs: ProcIdentity[] = []
  const UID = '6b1a1d0e-9c2f-4a3b-8e1d-2f6c7b8a9d01'

  before(async function () {
    requireContainerd(this)
    cd = await PrivateContainerd.start()
    pod = await runPod(cd.cri, {name: 'web-0', namespace: 'shop', uid: UID, cgroupParent: cd.names.cgroupParent})
    ctr = await runContainer(cd.cri, pod, 'sleeper', ['sleep', '3600'])
    cd.noteShims()
    podProcs = [identify(pod.pausePid, 'pause'), identify(ctr.pid, 'sleep')].filter((p): p is ProcIdentity => p !== undefined)
  })

  after(async () => {
    killLeftovers()
    if (cd) {
      const left = await cd.cleanup()
      assert.deepEqual(left.map((l) => l.why), [], 'the private containerd left nothing')
    }
  })

  it('pods --json names the pod, its pause and its container from the CRI socket', async () => {
    const run = runCli(['pods', '--json', '--cri-socket', (cd as PrivateContainerd).socket])
    assert.equal((await run.exited).code, 0, run.stderr())
    const views = JSON.parse(run.stdout()) as Rec[]
    const v = views.find((x) => x.pod?.uid === UID)
    assert.ok(v, `the pod is listed: ${run.stdout().slice(0, 800)}`)
    assert.deepEqual([v.runtime, v.pod, v.pausePid, v.hostNetwork], ['containerd', {name: 'web-0', namespace: 'shop', uid: UID, attempt: 0}, pod.pausePid, false])
    const byPid = new Map((v.processes as Rec[]).map((p) => [p.pid, p]))
    assert.deepEqual(byPid.get(pod.pausePid), {pid: pod.pausePid, comm: 'pause', innerPid: 1, sandbox: v.id, role: 'pause', ppid: byPid.get(pod.pausePid)?.ppid, state: 'S'})
    assert.deepEqual(byPid.get(ctr.pid), {pid: ctr.pid, comm: 'sleep', innerPid: 1, sandbox: v.id, role: 'container', ppid: byPid.get(ctr.pid)?.ppid, state: 'S', container: 'sleeper'})
    assert.deepEqual([...byPid.keys()].sort((a, b) => a - b), [pod.pausePid, ctr.pid].sort((a, b) => a - b), 'the pause and the container, nothing else')
    // the sandbox part is a trace file's sandbox record; each process, a proc reference (checked as an exec event's)
    const {processes: _p, zombies: _z, ...record} = v
    assertValidRecords([record, ...(v.processes as Rec[]).map(({ppid: _pp, state: _s, ...proc}) => ({type: 'event', kind: 'exec', t: 0, ts: '1970-01-01T00:00:00.000Z', proc, filename: '/x'}))])
  })

  it('finds the socket through PAUSETRACE_CRI_SOCKET too, and shows namespace/name and the container as text', async () => {
    const run = runCli(['pods'], {env: {PAUSETRACE_CRI_SOCKET: (cd as PrivateContainerd).socket}})
    assert.equal((await run.exited).code, 0, run.stderr())
    const block = run.stdout().split('\n\n').find((b) => b.startsWith('shop/web-0  ['))
    assert.ok(block, run.stdout())
    assert.match(block, new RegExp(`^  runtime containerd · pause ${pod.pausePid} · `, 'm'))
    assert.match(block, new RegExp(`sleep\\[${ctr.pid}/1\\] \\(container sleeper\\)$`, 'm'))
  })

  it('doctor reports the endpoint and the runtime\'s version', async () => {
    const sock = (cd as PrivateContainerd).socket
    const run = runCli(['doctor', '--json', '--cri-socket', sock])
    await run.exited
    const report = JSON.parse(run.stdout()) as {checks: Rec[]}
    const cri = report.checks.filter((c) => c.name === 'cri')
    assert.deepEqual(cri.map((c) => [c.ok, c.required]), [[true, false]])
    assert.match(cri[0].detail, new RegExp(`^${sock.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(from --cri-socket\\): containerd \\S+ \\(CRI v1\\)$`))
  })

  it('a socket that is not there is a usage error (2); one that does not answer the CRI, an environment error (3); one line each', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-e2e-cri-'))
    const server = net.createServer((s) => s.destroy())
    try {
      const missing = runCli(['pods', '--cri-socket', path.join(dir, 'none.sock')])
      assert.equal((await missing.exited).code, 2)
      assert.match(missing.stderr(), /^pausetrace: --cri-socket ".*none\.sock" is not a unix socket; give the runtime's CRI socket as an absolute path \(containerd: .*\)\.\n$/)
      const sock = path.join(dir, 'mute.sock')
      await new Promise<void>((resolve) => server.listen(sock, resolve))
      const mute = runCli(['pods', '--cri-socket', sock])
      assert.equal((await mute.exited).code, 3)
      assert.match(mute.stderr(), /^pausetrace: the CRI socket did not answer: .*mute\.sock: .*; start the runtime, or give its socket with --cri-socket\.\n$/)
    } finally {
      server.close()
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('removes everything it made: the pod\'s processes, containerd, shims, mounts, the bridge and the temp dir', async () => {
    const c = cd as PrivateContainerd
    const made = c.made()
    const procs = made.flatMap((m) => (m.what === 'process' ? [{pid: m.pid, start: m.start, what: m.comm}] : []))
    assert.deepEqual(procs.map((p) => p.what).sort(), ['containerd', 'containerd-shim-runc-v2'], 'containerd and the pod\'s shim were noted')
    assert.equal(podProcs.length, 2)
    const left = await c.cleanup()
    assert.deepEqual(left.map((l) => l.why), [])
    for (const p of [...procs, ...podProcs]) assert.equal(exists(p), false, `${p.what} (PID ${p.pid}) is gone, reaped too`)
    assert.equal(existsSync(c.dir), false)
    assert.deepEqual(mountsUnder(c.dir), [])
    assert.equal(existsSync(`/sys/class/net/${c.names.bridge}`), false)
    assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(c.dir), false)
    cd = undefined
  })
})
