// The CRI client without a socket: real answers of containerd 1.6.20 (test/fixtures/cri-grpc,
// recorded as raw protobuf bytes) decoded with the project's own .proto and read into pods,
// pause PIDs and containers; other runtimes' verbose `info` from crictl samples (test/fixtures/cri).
import assert from 'node:assert/strict'
import {existsSync, readFileSync} from 'node:fs'
import {fixturePath} from '../helpers/fixtures.js'
import {CRI_PROTO, CriCallError, criEndpoints, decodeCriResponse, explainCriError, STANDARD_CRI_SOCKETS, type CriMethod} from '../../src/sandbox/cri-client.js'
import {criSnapshot, newCriCache, parseContainerList, parseContainerPid, parsePodList, parsePodStatus, parseVersion, runtimeOf, verboseInfo, type CriSnapshot} from '../../src/sandbox/cri.js'
import {containerNames, resolvePodMeta} from '../../src/sandbox/metadata.js'
import {groupSandboxes} from '../../src/sandbox/registry.js'
import {EXIT, PausetraceError} from '../../src/errors.js'
import type {NsType, ProcEntry} from '../../src/sandbox/scan.js'

interface Expected {
  runtime: {name: string; version: string}
  pods: Array<{id: string; name: string; namespace: string; uid: string; attempt: number; hostNetwork: boolean; pausePid: number | null}>
  containers: Array<{id: string; name: string; pod: string; pid: number; comm: string | null}>
}

const EXPECTED = JSON.parse(readFileSync(fixturePath('cri-grpc/expected.json'), 'utf8')) as Expected
const answer = (file: string): Buffer => readFileSync(fixturePath(`cri-grpc/${file}`))
const decode = (method: CriMethod, file: string): Promise<unknown> => decodeCriResponse(method, answer(file))
const pod = (name: string): Expected['pods'][number] => EXPECTED.pods.find((p) => p.name === name) as Expected['pods'][number]
const ctr = (name: string): Expected['containers'][number] => EXPECTED.containers.find((c) => c.name === name) as Expected['containers'][number]

/** Serves the recorded answers as the socket did, counting the calls. */
function recordedRuntime(): {call: (m: CriMethod, req: object) => Promise<unknown>; calls: string[]; failStatusOf: Set<string>} {
  const calls: string[] = []
  const failStatusOf = new Set<string>()
  const call = async (method: CriMethod, req: object): Promise<unknown> => {
    const r = req as {podSandboxId?: string; containerId?: string}
    calls.push(`${method}${r.podSandboxId ?? r.containerId ? ` ${(r.podSandboxId ?? r.containerId ?? '').slice(0, 6)}` : ''}`)
    switch (method) {
      case 'Version': return decode(method, 'version.bin')
      case 'ListPodSandbox': return decode(method, 'list-pod-sandbox.bin')
      case 'ListContainers': return decode(method, 'list-containers.bin')
      case 'PodSandboxStatus': {
        const p = EXPECTED.pods.find((pp) => pp.id === r.podSandboxId)
        if (!p || failStatusOf.has(p.id)) throw new CriCallError(method, 'NOT_FOUND', 'an error occurred when try to find sandbox')
        return decode(method, `pod-sandbox-status-${p.name}.bin`)
      }
      case 'ContainerStatus': {
        const c = EXPECTED.containers.find((cc) => cc.id === r.containerId)
        if (!c || failStatusOf.has(c.id)) throw new CriCallError(method, 'NOT_FOUND', 'an error occurred when try to find container')
        return decode(method, `container-status-${c.name}.bin`)
      }
      default: throw new Error(`not recorded: ${method}`)
    }
  }
  return {call, calls, failStatusOf}
}

describe('CRI client (recorded answers of containerd 1.6.20)', () => {
  it('ships its .proto where the built code looks for it, and the package includes it', () => {
    assert.ok(existsSync(CRI_PROTO), CRI_PROTO)
    const files = (JSON.parse(readFileSync(fixturePath('../../package.json'), 'utf8')) as {files: string[]}).files
    assert.ok(files.includes('proto/'), files.join(' '))
  })

  it('Version: the runtime names itself', async () => {
    assert.deepEqual(parseVersion(await decode('Version', 'version.bin')), {runtimeName: 'containerd', runtimeVersion: EXPECTED.runtime.version, runtimeApiVersion: 'v1'})
    assert.deepEqual(['containerd', 'cri-o', 'docker', 'cri-dockerd', 'virtlet'].map(runtimeOf), ['containerd', 'cri-o', 'docker', 'docker', 'kubernetes'])
  })

  it('ListPodSandbox: every sandbox with its pod name, namespace, UID, attempt and state', async () => {
    const pods = parsePodList(await decode('ListPodSandbox', 'list-pod-sandbox.bin')).sort((a, b) => a.name.localeCompare(b.name))
    assert.deepEqual(pods.map((p) => [p.id, p.name, p.namespace, p.uid, p.attempt, p.ready, p.pid, p.containers]), [
      [pod('node-agent').id, 'node-agent', 'shop', pod('node-agent').uid, 2, true, null, []],
      [pod('stopped').id, 'stopped', 'shop', pod('stopped').uid, 0, false, null, []],
      [pod('web-0').id, 'web-0', 'shop', pod('web-0').uid, 0, true, null, []],
    ])
    assert.ok(pods.every((p) => /^\d{19}$/.test(p.createdAt)), 'created_at as nanoseconds, whole')
  })

  it('PodSandboxStatus (verbose): the pause PID /proc showed, the network mode; none for a stopped sandbox', async () => {
    for (const name of ['web-0', 'node-agent', 'stopped']) {
      const s = parsePodStatus(await decode('PodSandboxStatus', `pod-sandbox-status-${name}.bin`))
      assert.deepEqual([s?.pod.id, s?.pod.name, s?.pod.pid, s?.pod.hostNetwork, s?.pod.ready], [pod(name).id, name, pod(name).pausePid, pod(name).hostNetwork, name !== 'stopped'])
    }
    assert.equal(typeof pod('web-0').pausePid, 'number')
  })

  it('ListContainers and ContainerStatus (verbose): names, states, and the PID of each running one', async () => {
    const list = parseContainerList(await decode('ListContainers', 'list-containers.bin')).sort((a, b) => a.name.localeCompare(b.name))
    assert.deepEqual(list.map((c) => [c.name, c.podSandboxId, c.state]), [
      ['agent', pod('node-agent').id, 'CONTAINER_RUNNING'],
      ['exited', pod('node-agent').id, 'CONTAINER_EXITED'],
      ['sleeper', pod('web-0').id, 'CONTAINER_RUNNING'],
    ])
    assert.equal(parseContainerPid(await decode('ContainerStatus', 'container-status-sleeper.bin')), ctr('sleeper').pid)
    assert.equal(parseContainerPid(await decode('ContainerStatus', 'container-status-agent.bin')), ctr('agent').pid)
    assert.equal(parseContainerPid(await decode('ContainerStatus', 'container-status-exited.bin')), null, 'an exited container has no PID (containerd says 0)')
  })

  it('one look: every pod with its pause PID and containers; statuses asked once per id, a failed one leaves the PID unknown', async () => {
    const rt = recordedRuntime()
    const cache = newCriCache()
    const snap = await criSnapshot(rt, cache)
    const byName = (s: CriSnapshot): Record<string, unknown> => Object.fromEntries(s.pods.map((p) => [p.name, [p.pid, p.hostNetwork, p.attempt, p.containers.map((c) => [c.name, c.pid]).sort()]]))
    assert.equal(snap.runtime, 'containerd')
    assert.deepEqual(byName(snap), {
      'web-0': [pod('web-0').pausePid, false, 0, [['sleeper', ctr('sleeper').pid]]],
      'node-agent': [pod('node-agent').pausePid, true, 2, [['agent', ctr('agent').pid], ['exited', null]]],
      stopped: [null, null, 0, []],
    })
    // no status for the stopped sandbox nor the exited container
    assert.deepEqual(rt.calls.filter((c) => c.includes('Status')).sort(), [
      `ContainerStatus ${ctr('agent').id.slice(0, 6)}`, `ContainerStatus ${ctr('sleeper').id.slice(0, 6)}`,
      `PodSandboxStatus ${pod('node-agent').id.slice(0, 6)}`, `PodSandboxStatus ${pod('web-0').id.slice(0, 6)}`,
    ].sort())

    rt.calls.length = 0
    const again = await criSnapshot(rt, cache, snap.version)
    assert.deepEqual(rt.calls.sort(), ['ListContainers', 'ListPodSandbox'], 'the second look asks only the lists')
    assert.deepEqual(byName(again), byName(snap))

    // web-0's pause dies: the sandbox is NOTREADY, and keeps the pause PID and network mode it had
    const dead = {...rt, call: async (m: CriMethod, req: object): Promise<unknown> => {
      const a = await rt.call(m, req)
      if (m !== 'ListPodSandbox') return a
      const items = (a as {items: Array<{id: string; state: string}>}).items
      return {...(a as object), items: items.map((i) => (i.id === pod('web-0').id ? {...i, state: 'SANDBOX_NOTREADY'} : i))}
    }}
    const after = await criSnapshot(dead, cache, snap.version)
    assert.deepEqual(after.pods.filter((p) => p.name === 'web-0').map((p) => [p.ready, p.pid, p.hostNetwork]), [[false, pod('web-0').pausePid, false]])

    const failing = recordedRuntime()
    failing.failStatusOf.add(pod('web-0').id)
    failing.failStatusOf.add(ctr('agent').id)
    const partial = await criSnapshot(failing)
    assert.deepEqual(byName(partial)['web-0'], [null, null, 0, [['sleeper', ctr('sleeper').pid]]])
    assert.deepEqual(byName(partial)['node-agent'], [pod('node-agent').pausePid, true, 2, [['agent', null], ['exited', null]]])
  })

  it('names the sandbox /proc groups around the pause, and each member\'s container, from one look', async () => {
    const snap = await criSnapshot(recordedRuntime())
    const HOST: Record<NsType, number> = {cgroup: 1, ipc: 2, mnt: 3, net: 4, pid: 5, time: 6, user: 7, uts: 8}
    const ns = {...HOST, net: 40, ipc: 41, uts: 42}
    const web = pod('web-0')
    const pausePid = web.pausePid as number
    const sleeper = ctr('sleeper')
    const cg = (id: string): string => `0::/pausetrace-cri-1/${id}\n`
    const procs: ProcEntry[] = [
      {pid: pausePid, ppid: 900, comm: 'pause', cmdline: ['/pause'], state: 'S', nspid: [pausePid, 1], ns: {...ns, pid: 50}, cgroup: cg(web.id)},
      {pid: sleeper.pid, ppid: 900, comm: 'sleep', cmdline: ['sleep', '3600'], state: 'S', nspid: [sleeper.pid, 1], ns: {...ns, pid: 51}, cgroup: cg(sleeper.id)},
      // forked inside the container: its cgroup names the container
      {pid: 7001, ppid: sleeper.pid, comm: 'sh', cmdline: ['sh'], state: 'S', nspid: [7001, 2], ns: {...ns, pid: 51}, cgroup: cg(sleeper.id)},
      // a cgroup that names no container: found through its parent
      {pid: 7002, ppid: 7001, comm: 'cat', cmdline: ['cat'], state: 'S', nspid: [7002, 3], ns: {...ns, pid: 51}, cgroup: ''},
    ]
    const [s] = groupSandboxes(procs, HOST, (sb, pause, members) => resolvePodMeta(sb, pause, members, {cri: snap}))
    assert.deepEqual([s.runtime, s.pod, s.hostNetwork, s.pausePid], ['containerd', {name: 'web-0', namespace: 'shop', uid: web.uid, attempt: 0}, false, pausePid])
    assert.deepEqual(s.containers, {[sleeper.pid]: 'sleeper', 7001: 'sleeper', 7002: 'sleeper'})
    // without the pause (CRI-O's drop_infra_ctr), a member that is a container's first process finds the pod
    const webPod = snap.pods.find((p) => p.name === 'web-0')
    assert.ok(webPod)
    assert.deepEqual(containerNames(webPod, procs.slice(1, 2).map((p) => ({...p, cgroup: ''}))), {[sleeper.pid]: 'sleeper'})
    const noPause = resolvePodMeta(s, undefined, procs.slice(1), {cri: {...snap, pods: snap.pods.map((p) => ({...p, pid: null}))}})
    assert.deepEqual(noPause?.pod, {name: 'web-0', namespace: 'shop', uid: web.uid, attempt: 0})
  })
})

describe('verbose info of other runtimes (crictl inspectp samples, put back into the CRI map)', () => {
  const inspectp = (file: string): {status: unknown; info: Record<string, unknown>} => JSON.parse(readFileSync(fixturePath(`cri/${file}`), 'utf8')) as {status: unknown; info: Record<string, unknown>}
  const asAnswer = (file: string, info = inspectp(file).info): unknown => ({status: inspectp(file).status, info: {info: JSON.stringify(info)}})

  it('reads the pause PID of containerd (kind) and CRI-O; none once gone or without an infra process', () => {
    assert.equal(parsePodStatus(asAnswer('containerd-kind-inspectp.json'))?.pod.pid, 6075)
    assert.equal(parsePodStatus(asAnswer('crio-iks-inspectp.json'))?.pod.pid, 38091)
    assert.equal(parsePodStatus(asAnswer('containerd-cri-479-notready-inspectp.json'))?.pod.pid, null, 'containerd says 0 once the pause is gone')
    // CRI-O's drop_infra_ctr: {runtimeSpec} only (derived from the sample by dropping image and pid)
    const {image: _image, pid: _pid, ...noInfra} = inspectp('crio-iks-inspectp.json').info
    assert.equal(parsePodStatus(asAnswer('crio-iks-inspectp.json', noInfra))?.pod.pid, null)
  })

  it('gives {} / null / [] for garbage, never throws', () => {
    const garbage: unknown[] = [undefined, null, 0, 'x', [], {}, {info: 'not json'}, {info: '[1]'}, {status: 5}, {items: 'x'}, {containers: [null, 3, {id: 7}]}]
    for (const g of garbage) {
      assert.equal(typeof verboseInfo(g), 'object')
      assert.equal(parseVersion(g), null)
      assert.equal(parsePodStatus(g), null)
      assert.equal(parseContainerPid(g), null)
      assert.deepEqual(parsePodList(g), [])
      assert.deepEqual(parseContainerList(g), [])
    }
    assert.deepEqual(verboseInfo({pid: '42', other: 'plain'}), {pid: 42, other: 'plain'})
  })
})

describe('CRI endpoints', () => {
  const sockets = (...present: string[]) => (p: string): boolean => present.includes(p)

  it('asks the standard sockets that exist, in order, when nothing is given', () => {
    assert.deepEqual(criEndpoints({isSocket: sockets('/var/run/cri-dockerd.sock', '/run/containerd/containerd.sock')}), [
      {path: '/run/containerd/containerd.sock', source: 'standard'},
      {path: '/var/run/cri-dockerd.sock', source: 'standard'},
    ])
    assert.deepEqual(criEndpoints({isSocket: sockets()}), [])
    assert.deepEqual(STANDARD_CRI_SOCKETS.map((s) => s.path), ['/run/containerd/containerd.sock', '/var/run/crio/crio.sock', '/var/run/cri-dockerd.sock'])
  })

  it('takes the flag over the environment, and crictl\'s unix:// spelling', () => {
    const isSocket = sockets('/x/a.sock', '/x/b.sock')
    assert.deepEqual(criEndpoints({flag: 'unix:///x/a.sock', env: '/x/b.sock', isSocket}), [{path: '/x/a.sock', source: 'flag'}])
    assert.deepEqual(criEndpoints({env: '/x/b.sock', isSocket}), [{path: '/x/b.sock', source: 'env'}])
  })

  it('a flag that is no socket is a usage error (2), the environment\'s an environment error (3), each with the fix', () => {
    const fail = (f: () => unknown): PausetraceError => {
      try {
        f()
      } catch (err) {
        return err as PausetraceError
      }
      throw new Error('did not throw')
    }
    const flag = fail(() => criEndpoints({flag: 'relative.sock', isSocket: () => true}))
    assert.equal(flag.exitCode, EXIT.usage)
    assert.equal(flag.message, '--cri-socket "relative.sock" is not a unix socket; give the runtime\'s CRI socket as an absolute path (containerd: /run/containerd/containerd.sock, CRI-O: /var/run/crio/crio.sock, cri-dockerd: /var/run/cri-dockerd.sock).')
    const env = fail(() => criEndpoints({env: '/nope.sock', isSocket: () => false}))
    assert.equal(env.exitCode, EXIT.environment)
    assert.match(env.message, /^PAUSETRACE_CRI_SOCKET="\/nope.sock" is not a unix socket; unset it or give the runtime's CRI socket/)
  })

  it('says in one line why a socket did not answer', () => {
    assert.equal(explainCriError(new CriCallError('Version', 'UNAVAILABLE', 'No connection established. Last error: connect ECONNREFUSED /x.sock')), 'not answering (No connection established. Last error: connect ECONNREFUSED /x.sock): is the runtime running?')
    assert.equal(explainCriError(new CriCallError('Version', 'UNAVAILABLE', 'connect EACCES /x.sock')), 'permission denied: run pausetrace as root')
    assert.match(explainCriError(new CriCallError('Version', 'UNIMPLEMENTED', 'unknown service runtime.v1.RuntimeService')), /^answers, but not with the CRI v1 RuntimeService/)
    assert.equal(explainCriError(new CriCallError('Version', 'DEADLINE_EXCEEDED', '')), 'no answer within 2 s (a busy or hung runtime)')
  })
})
