import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {childrenOf, requireTracing, waitFor} from '../helpers/e2e.js'
import {
  NAME_PREFIX,
  cleanupAll,
  createPod,
  execInNsSandbox,
  nsLink,
  nsPids,
  podman,
  removePod,
  runInPod,
  pidState,
  shInNsSandbox,
  startNsSandbox,
} from '../helpers/sandboxes.js'

const comm = (pid: number): string => readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
const cmdline = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1)
const status = (pid: number, key: string): string =>
  readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${key}:`))?.slice(key.length + 1).trim() ?? ''
const ours = async (args: string[]): Promise<string[]> => (await podman(args)).split('\n').filter((n) => n.startsWith(NAME_PREFIX))

describe('e2e: sandbox helpers', function () {
  this.timeout(120_000)

  before(function () {
    requireTracing(this)
  })
  afterEach(async () => {
    await cleanupAll()
  })

  it('podman --share +pid: the container runs in the infra PID namespace, not as its PID 1', async () => {
    const pod = await createPod({name: 'shared', sharePid: true})
    const ctr = await runInPod(pod, {name: 'shared-sleep', cmd: ['sleep', '1000']})
    assert.equal(comm(pod.infraPid), 'catatonit')
    assert.deepEqual(cmdline(pod.infraPid), ['/catatonit', '-P'])
    assert.deepEqual(nsPids(pod.infraPid), [pod.infraPid, 1])
    const [host, inner, ...more] = nsPids(ctr.pid)
    assert.equal(host, ctr.pid)
    assert.deepEqual(more, [])
    assert.ok(inner > 1, `the container's inner PID is ${inner}`)
    assert.equal(comm(ctr.pid), 'sleep')
    for (const ns of ['pid', 'net', 'ipc', 'uts'] as const) assert.equal(nsLink(ctr.pid, ns), nsLink(pod.infraPid, ns), ns)
    assert.notEqual(nsLink(ctr.pid, 'mnt'), nsLink(pod.infraPid, 'mnt'))
    assert.notEqual(nsLink(ctr.pid, 'pid'), nsLink(process.pid, 'pid'))
    assert.match(readFileSync(`/proc/${ctr.pid}/cgroup`, 'utf8'), new RegExp(`^0::/libpod_parent/${pod.podId}/libpod-${ctr.ctrId}$`, 'm'))
    assert.match(readFileSync(`/proc/${pod.infraPid}/cgroup`, 'utf8'), new RegExp(`^0::/libpod_parent/${pod.podId}/libpod-${pod.infraId}$`, 'm'))
  })

  it('podman without sharing: the container is PID 1 of its own PID namespace and shares net/ipc/uts with the infra', async () => {
    const pod = await createPod({name: 'private', sharePid: false})
    const ctr = await runInPod(pod, {name: 'private-sleep', cmd: ['sleep', '1000']})
    assert.deepEqual(nsPids(pod.infraPid), [pod.infraPid, 1])
    assert.deepEqual(nsPids(ctr.pid), [ctr.pid, 1])
    assert.notEqual(nsLink(ctr.pid, 'pid'), nsLink(pod.infraPid, 'pid'))
    for (const ns of ['net', 'ipc', 'uts'] as const) assert.equal(nsLink(ctr.pid, ns), nsLink(pod.infraPid, ns), ns)
    assert.deepEqual(await ours(['pod', 'ps', '--format', '{{.Name}}']), [pod.name])

    await removePod(pod)
    await waitFor(() => pidState(pod.infraPid) === undefined && pidState(ctr.pid) === undefined, 10_000, 'the pod processes to be reaped')
    assert.deepEqual(await ours(['pod', 'ps', '--format', '{{.Name}}']), [])
    assert.deepEqual(await ours(['ps', '-a', '--format', '{{.Names}}']), [])
  })

  it('the namespace sandbox runs the lab pause as PID 1, and a host SIGTERM makes it exit 0 through its handler', async () => {
    const sb = await startNsSandbox({sharePid: true})
    assert.deepEqual(nsPids(sb.pausePid), [sb.pausePid, 1])
    assert.equal(comm(sb.pausePid), 'pause')
    // Caught: SIGINT (2), SIGTERM (15), SIGCHLD (17); nothing blocked or ignored.
    assert.equal(status(sb.pausePid, 'SigCgt'), '0000000000014002')
    assert.equal(status(sb.pausePid, 'SigIgn'), '0000000000000000')
    assert.notEqual(nsLink(sb.pausePid, 'net'), nsLink(process.pid, 'net'))
    process.kill(sb.pausePid, 'SIGTERM')
    assert.deepEqual(await sb.exited, {code: 0, signal: null})
    assert.equal(pidState(sb.pausePid), undefined)
  })

  it('the pause reaps an orphan that exits inside its PID namespace (no zombie remains)', async () => {
    const sb = await startNsSandbox({sharePid: true})
    // The orphan must not hold sh's stdout, or sh's 'close' would wait for the orphan's exit.
    const sh = await shInNsSandbox(sb, 'sleep 1 >/dev/null 2>&1 & echo $!; exit 0')
    assert.deepEqual(await sh.exited, {code: 0, signal: null})
    const innerPid = Number(sh.stdout().trim())
    const [orphan, ...others] = childrenOf(sb.pausePid)
    assert.deepEqual(others, [])
    assert.equal(comm(orphan), 'sleep')
    assert.deepEqual(nsPids(orphan), [orphan, innerPid])
    assert.equal(status(orphan, 'PPid'), String(sb.pausePid))
    // An unreaped child would stay in state Z under the pause; reaped, /proc/PID disappears.
    await waitFor(() => pidState(orphan) === undefined, 5_000, `the orphan ${orphan} to be reaped by the pause`)
    assert.equal(pidState(sb.pausePid), 'S')
    assert.deepEqual(childrenOf(sb.pausePid), [])
  })

  it('processes join the sandbox PID namespace (shared) or get their own with the same net/ipc/uts (own)', async () => {
    const sb = await startNsSandbox({sharePid: false})
    const own = await execInNsSandbox(sb, ['sleep', '1000'])
    const shared = await execInNsSandbox(sb, ['sleep', '1000'], {pidNs: 'shared'})
    assert.deepEqual(nsPids(own.pid), [own.pid, 1])
    assert.notEqual(nsLink(own.pid, 'pid'), nsLink(sb.pausePid, 'pid'))
    const [host, inner] = nsPids(shared.pid)
    assert.equal(host, shared.pid)
    assert.ok(inner > 1, `inner PID ${inner}`)
    assert.equal(nsLink(shared.pid, 'pid'), nsLink(sb.pausePid, 'pid'))
    for (const ns of ['net', 'ipc', 'uts'] as const) {
      assert.equal(nsLink(own.pid, ns), nsLink(sb.pausePid, ns), ns)
      assert.equal(nsLink(shared.pid, ns), nsLink(sb.pausePid, ns), ns)
    }
  })

  it('cleanupAll removes pods, sandboxes and processes, and reports what it did not make itself', async () => {
    const pod = await createPod({name: 'cleanup', sharePid: true})
    const ctr = await runInPod(pod, {name: 'cleanup-sleep', cmd: ['sleep', '1000']})
    const sb = await startNsSandbox({sharePid: false})
    const own = await execInNsSandbox(sb, ['sleep', '1000'])
    await cleanupAll()
    // A container's process may stay a zombie for a moment, until its conmon is reaped by the host's init.
    const pids = [pod.infraPid, ctr.pid, sb.pausePid, sb.unsharePid, own.pid, own.launcherPid]
    for (const pid of pids) assert.ok(pidState(pid) === undefined || pidState(pid) === 'Z', `PID ${pid} is ${pidState(pid)}`)
    await waitFor(() => pids.every((pid) => pidState(pid) === undefined), 10_000, `${pids.join(', ')} to be reaped`)
    assert.deepEqual(await ours(['pod', 'ps', '--format', '{{.Name}}']), [])
    assert.deepEqual(await ours(['ps', '-a', '--format', '{{.Names}}']), [])

    // A pod made behind the helpers' back is found by its name, removed, and reported.
    const stray = await podman(['pod', 'create', '--name', `${NAME_PREFIX}stray`])
    await assert.rejects(cleanupAll(), (e: Error) => e.message.includes(`pod left behind: ${stray} ${NAME_PREFIX}stray`))
    assert.deepEqual(await ours(['pod', 'ps', '--format', '{{.Name}}']), [])
  })
})
