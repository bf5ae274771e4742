// Grouping on the layouts of real nodes that the podman fixtures do not show: hostNetwork pods,
// cri-dockerd's per-container UTS namespaces, pods the CRI joins, and re-created sandboxes.
// The ProcEntry values are synthetic (shaped like /proc on those runtimes; cri-dockerd is not
// installable here); the containerd hostNetwork layout is checked for real in test/e2e/cri-grouping.test.ts.
import assert from 'node:assert/strict'
import {groupSandboxes, groupKey, sandboxRecord, type Sandbox} from '../../src/sandbox/registry.js'
import {SandboxIndex, baseId} from '../../src/sandbox/sandbox-index.js'
import {criRuntimePods, resolvePodMeta} from '../../src/sandbox/metadata.js'
import type {CriSnapshot} from '../../src/sandbox/cri.js'
import type {NsType, ProcEntry} from '../../src/sandbox/scan.js'
import type {ProcInfo} from '../../src/events/process-info.js'

const HOST: Record<NsType, number> = {cgroup: 1, ipc: 2, mnt: 3, net: 4, pid: 5, time: 6, user: 7, uts: 8}

function proc(pid: number, comm: string, ns: Partial<Record<NsType, number>>, nspid: number[] = [pid, 1], ppid = 900): ProcEntry {
  return {pid, ppid, comm, cmdline: [comm === 'pause' ? '/pause' : comm], state: 'S', nspid, ns: {...HOST, ...ns}, cgroup: ''}
}

function info(e: ProcEntry): ProcInfo {
  return {tid: e.pid, pid: e.pid, comm: e.comm, innerPid: e.nspid.at(-1) ?? null, pidns: e.ns.pid, level: e.nspid.length - 1, netns: e.ns.net, ipcns: e.ns.ipc, utsns: e.ns.uts, mntns: e.ns.mnt, cgroupId: 0, ppid: e.ppid}
}

const summary = (s: Sandbox): unknown[] => [s.id, s.pausePid, s.members, s.hostNetwork, s.sharedPidNamespace, s.sharedNamespaces]

describe('sandbox grouping on real-node layouts', () => {
  describe('hostNetwork pods (containerd layout: the host\'s net and UTS, a pod IPC namespace, a PID namespace per container)', () => {
    const pauseA = proc(100, 'pause', {ipc: 61, pid: 62})
    const ctrA = proc(101, 'sleep', {ipc: 61, pid: 63})
    const pauseB = proc(200, 'pause', {ipc: 71, pid: 72})
    const ctrB = proc(201, 'agent', {ipc: 71, pid: 73})
    const procs = [proc(1, 'init', {}, [1]), pauseA, ctrA, pauseB, ctrB]

    it('two at once are two sandboxes, each named by its IPC namespace and marked hostNetwork', () => {
      assert.deepEqual(groupSandboxes(procs, HOST).map(summary), [
        ['ipcns:61', 100, [100, 101], true, false, ['ipc']],
        ['ipcns:71', 200, [200, 201], true, false, ['ipc']],
      ])
    })

    it('classifies each pod\'s pause and container into its own sandbox, the host as host', () => {
      const index = new SandboxIndex(HOST)
      index.update(groupSandboxes(procs, HOST))
      assert.deepEqual([pauseA, ctrA, pauseB, ctrB, procs[0]].map((p) => index.classify(info(p))), [
        {sandbox: 'ipcns:61', role: 'pause'}, {sandbox: 'ipcns:61', role: 'container'},
        {sandbox: 'ipcns:71', role: 'pause'}, {sandbox: 'ipcns:71', role: 'container'},
        {sandbox: null, role: 'host'},
      ])
    })

    it('an ordinary pod keeps its netns:<inode> id and no hostNetwork field without a runtime', () => {
      const [s] = groupSandboxes([proc(300, 'pause', {net: 40, ipc: 41, uts: 42, pid: 43})], HOST)
      assert.deepEqual([s.id, s.hostNetwork, sandboxRecord(s)], ['netns:40', undefined, {type: 'sandbox', id: 'netns:40', runtime: 'namespaces', pod: null, pausePid: 300, sharedNamespaces: ['ipc', 'net', 'pid', 'uts'], sharedPidNamespace: false, ns: {net: 40, ipc: 41, uts: 42, pid: 43}}])
    })
  })

  describe('cri-dockerd layout (synthetic): net and IPC are the pod\'s, each container has its own UTS namespace', () => {
    const pause = proc(400, 'pause', {net: 40, ipc: 41, uts: 42, pid: 43})
    const ctr = proc(401, 'nginx', {net: 40, ipc: 41, uts: 44, pid: 45})
    const sidecar = proc(402, 'envoy', {net: 40, ipc: 41, uts: 46, pid: 47})

    it('keeps the containers in the pause\'s sandbox, sharing net and IPC, with the pause\'s UTS as the pod\'s', () => {
      const all = groupSandboxes([pause, ctr, sidecar], HOST)
      assert.deepEqual(all.map(summary), [['netns:40', 400, [400, 401, 402], undefined, false, ['ipc', 'net']]])
      assert.deepEqual(all[0].ns, {net: 40, ipc: 41, uts: 42, pid: 43})
    })

    it('with shareProcessNamespace the pause does not stand alone: PID namespace shared', () => {
      const joined = proc(401, 'nginx', {net: 40, ipc: 41, uts: 44, pid: 43}, [401, 7])
      assert.deepEqual(groupSandboxes([pause, joined], HOST).map(summary), [['netns:40', 400, [400, 401], undefined, true, ['ipc', 'net', 'pid']]])
    })

    it('classifies a container seen first in an event (its own UTS namespace) as the pod\'s, not a sandbox of its own', () => {
      const unknown: ProcInfo[] = []
      const index = new SandboxIndex(HOST, (i) => unknown.push(i))
      index.update(groupSandboxes([pause, ctr], HOST))
      assert.deepEqual(index.classify(info(sidecar)), {sandbox: 'netns:40', role: 'container'})
      assert.deepEqual(unknown, [])
    })
  })

  describe('the CRI is the truth where it answers', () => {
    // hostNetwork + hostIPC: only the PID namespaces are not the host's, one per container
    const pause = proc(500, 'pause', {pid: 80})
    const ctr = proc(501, 'sleep', {pid: 81})
    const child = proc(502, 'sh', {pid: 81}, [502, 2], 501)
    const snap: CriSnapshot = {
      runtime: 'containerd', version: {runtimeName: 'containerd', runtimeVersion: '1.6.20', runtimeApiVersion: 'v1'},
      pods: [
        {id: 'p1', name: 'agent', namespace: 'kube-system', uid: 'u-1', attempt: 0, ready: true, createdAt: '1', pid: 500, hostNetwork: true,
          containers: [{id: 'c1', podSandboxId: 'p1', name: 'main', attempt: 0, state: 'CONTAINER_RUNNING', pid: 501}]},
        // not ready: its PIDs are not asked for and do not join anything
        {id: 'p0', name: 'agent', namespace: 'kube-system', uid: 'u-1', attempt: 0, ready: false, createdAt: '0', pid: null, hostNetwork: null, containers: []},
      ],
    }

    it('without a runtime, the namespaces alone split the pod into one sandbox per PID namespace', () => {
      assert.deepEqual(groupSandboxes([pause, ctr, child], HOST).map((s) => [s.id, s.members]), [['pidns:80', [500]], ['pidns:81', [501, 502]]])
    })

    it('with the CRI\'s PIDs, one sandbox named after the pause\'s group, with the pod, hostNetwork and the containers', () => {
      assert.deepEqual(criRuntimePods(snap), [{pausePid: 500, pids: [501]}])
      const all = groupSandboxes([pause, ctr, child], HOST, (s, p, m) => resolvePodMeta(s, p, m, {cri: snap}), criRuntimePods(snap))
      assert.deepEqual(all.map((s) => [s.id, s.keys, s.members, s.pausePid, s.runtime, s.pod, s.hostNetwork, s.containers]), [
        ['pidns:80', ['pid:80', 'pid:81'], [500, 501, 502], 500, 'containerd', {name: 'agent', namespace: 'kube-system', uid: 'u-1', attempt: 0}, true, {501: 'main', 502: 'main'}],
      ])
      const index = new SandboxIndex(HOST)
      index.update(all)
      // each member the runtime names carries its container's name into the events
      assert.deepEqual([pause, ctr, child].map((p) => index.classify(info(p))), [
        {sandbox: 'pidns:80', role: 'pause'}, {sandbox: 'pidns:80', role: 'container', container: 'main'}, {sandbox: 'pidns:80', role: 'container', container: 'main'},
      ])
    })
  })

  describe('a container started after the last look (the live gap: the CRI answers later)', () => {
    // a hostNetwork pod as containerd makes it: the pod's IPC namespace, a PID namespace per container
    const pause = proc(500, 'pause', {ipc: 61, pid: 62})
    const ctr = proc(501, 'sleep', {ipc: 61, pid: 63})
    const snapWith = (pid: number | null): CriSnapshot => ({
      runtime: 'containerd', version: {runtimeName: 'containerd', runtimeVersion: '1.6.20', runtimeApiVersion: 'v1'},
      pods: [{id: 'p1', name: 'probe', namespace: 'kube-system', uid: 'u-1', attempt: 0, ready: true, createdAt: '1', pid: 500, hostNetwork: true,
        containers: pid === null ? [] : [{id: 'c1', podSandboxId: 'p1', name: 'main', attempt: 0, state: 'CONTAINER_RUNNING', pid}]}],
    })
    const look = (procs: ProcEntry[], snap: CriSnapshot): Sandbox[] => groupSandboxes(procs, HOST, (s, p, m) => resolvePodMeta(s, p, m, {cri: snap}), criRuntimePods(snap))

    it('a process the last look did not list, in a CRI pod, asks for a new look; so does one in a sandbox not named yet; not the pause, a named member, or a pod of a non-CRI runtime', () => {
      const asked: number[] = []
      const index = new SandboxIndex(HOST, undefined, undefined, (i) => asked.push(i.pid))
      index.update(look([pause], snapWith(null)))
      assert.deepEqual(index.classify(info(ctr)), {sandbox: 'ipcns:61', role: 'container'})
      assert.deepEqual(index.classify(info(pause)), {sandbox: 'ipcns:61', role: 'pause'})
      assert.deepEqual(asked, [501])
      index.update(look([pause, ctr], snapWith(501)))
      assert.deepEqual(index.classify(info(ctr)), {sandbox: 'ipcns:61', role: 'container', container: 'main'})
      assert.deepEqual(asked, [501])
      // a sandbox not named yet may be a CRI pod made after the last look (the runtime names it only
      // when asked again): it asks too; one a non-CRI runtime named (podman) has nothing to learn
      const bare = new SandboxIndex(HOST, undefined, undefined, (i) => asked.push(i.pid))
      bare.update(groupSandboxes([pause], HOST))
      // (no CRI socket on the node: nothing can name it, no new look)
      assert.deepEqual(bare.classify(info(ctr)), {sandbox: 'ipcns:61', role: 'container'})
      assert.deepEqual(asked, [501])
      bare.criPresent = true
      assert.deepEqual(bare.classify(info(ctr)), {sandbox: 'ipcns:61', role: 'container'})
      assert.deepEqual(asked, [501, 501])
      const podman = new SandboxIndex(HOST, undefined, undefined, (i) => asked.push(i.pid))
      podman.update(groupSandboxes([pause], HOST, () => ({runtime: 'podman', pod: {name: 'p', namespace: null, uid: 'x'}})))
      assert.deepEqual(podman.classify(info(ctr)), {sandbox: 'ipcns:61', role: 'container'})
      assert.deepEqual(asked, [501, 501])
    })

    it('a look after the container died keeps its name, so that its exit and reap still carry it', () => {
      const index = new SandboxIndex(HOST)
      index.update(look([pause, ctr], snapWith(501)))
      index.update(look([pause], snapWith(null)))
      assert.deepEqual([index.get('ipcns:61')?.members, index.get('ipcns:61')?.containers], [[500], {501: 'main'}])
      assert.deepEqual(index.classify(info(ctr)), {sandbox: 'ipcns:61', role: 'container', container: 'main'})
    })

    it('a partial look at one process adds a sandbox not known yet and never replaces a known one', () => {
      const index = new SandboxIndex(HOST)
      index.update(look([pause, ctr], snapWith(501)))
      assert.deepEqual(index.add(groupSandboxes([ctr], HOST)), [])
      assert.deepEqual([index.get('ipcns:61')?.pod?.name, index.get('ipcns:61')?.pausePid], ['probe', 500])
      assert.deepEqual(index.add(groupSandboxes([proc(700, 'sh', {ipc: 91, pid: 92})], HOST)), ['ipcns:91'])
    })
  })

  describe('replaces: a re-created sandbox of the same pod UID', () => {
    const cri = (net: number, pausePid: number, attempt: number): Sandbox => {
      const [s] = groupSandboxes([proc(pausePid, 'pause', {net, ipc: net + 1, uts: net + 2, pid: net + 3})], HOST, () => ({runtime: 'containerd', pod: {name: 'web-0', namespace: 'shop', uid: 'u-web', attempt}}))
      return s
    }

    it('names the earlier sandbox, keeps it once known, and says null for the first', () => {
      const index = new SandboxIndex(HOST)
      index.update([cri(40, 600, 0)])
      assert.equal(sandboxRecord(index.get('netns:40') as Sandbox).replaces, null)
      assert.deepEqual(index.update([cri(50, 700, 1)]), ['netns:50'])
      assert.equal(sandboxRecord(index.get('netns:50') as Sandbox).replaces, 'netns:40')
      // a later scan that no longer sees the first one changes nothing
      assert.deepEqual(index.update([cri(50, 700, 1)]), [])
      assert.equal(index.get('netns:50')?.replaces, 'netns:40')
      // attempt 2 replaces attempt 1, not 0
      index.update([cri(60, 800, 2)])
      assert.equal(index.get('netns:60')?.replaces, 'netns:50')
    })

    it('the pause killed: what is left of the first keeps its pod, and the re-created one still names it (lab kill-pause on cri)', () => {
      const index = new SandboxIndex(HOST)
      index.update([cri(40, 600, 0)])
      // the pause is gone; a container of the first sandbox (its own PID namespace, started after
      // that look) is all a later look finds there, and the runtime no longer names it
      const [rest] = groupSandboxes([proc(650, 'sleep', {net: 40, ipc: 41, uts: 42, pid: 77})], HOST)
      index.update([rest, cri(50, 700, 1)])
      assert.deepEqual(index.get('netns:40')?.pod, {name: 'web-0', namespace: 'shop', uid: 'u-web', attempt: 0})
      assert.equal(index.get('netns:50')?.replaces, 'netns:40')
    })

    it('seen in the same scan, the lower attempt is the earlier one whatever the order', () => {
      const index = new SandboxIndex(HOST)
      index.update([cri(50, 700, 1), cri(40, 600, 0)])
      assert.deepEqual([index.get('netns:40')?.replaces, index.get('netns:50')?.replaces], [null, 'netns:40'])
    })

    it('a pod of another UID, or a sandbox without a CRI attempt, carries no replaces of it', () => {
      const index = new SandboxIndex(HOST)
      index.update([cri(40, 600, 0)])
      const [other] = groupSandboxes([proc(900, 'pause', {net: 90, ipc: 91, uts: 92, pid: 93})], HOST, () => ({runtime: 'containerd', pod: {name: 'web-0', namespace: 'other', uid: 'u-other', attempt: 1}}))
      const [podman] = groupSandboxes([proc(950, 'catatonit', {net: 95, ipc: 96, uts: 97, pid: 98})], HOST, () => ({runtime: 'podman', pod: {name: 'lab', namespace: null, uid: 'pod-1'}}))
      index.update([other, podman])
      assert.equal(sandboxRecord(other).replaces, null)
      assert.equal('replaces' in sandboxRecord(podman), false, 'podman records are as they were')
    })

    it('a pod named without attempts (cgroup or kubelet files) names no predecessor, even with two groups of its UID', () => {
      const index = new SandboxIndex(HOST)
      const kube = (net: number, pausePid: number): Sandbox => groupSandboxes([proc(pausePid, 'pause', {net, ipc: net + 1, uts: net + 2, pid: net + 3})], HOST, () => ({runtime: 'kubernetes', pod: {name: 'web-0', namespace: 'shop', uid: 'u-web'}}))[0]
      index.update([kube(40, 600)])
      index.update([kube(50, 700)])
      assert.deepEqual(['netns:40', 'netns:50'].map((id) => 'replaces' in sandboxRecord(index.get(id) as Sandbox)), [false, false])
    })
  })

  it('groupKey: net decides, then IPC, then UTS on the host\'s network, then the PID namespace; none for the host', () => {
    assert.deepEqual([
      groupKey({net: 40, ipc: 2, uts: 8, pid: 5}, HOST), groupKey({net: 4, ipc: 41, uts: 42, pid: 43}, HOST),
      groupKey({net: 4, ipc: 2, uts: 42, pid: 5}, HOST), groupKey({net: 4, ipc: 2, uts: 8, pid: 43}, HOST), groupKey({net: 4, ipc: 2, uts: 8, pid: 5}, HOST),
    ], [{key: 'net:40', id: 'netns:40'}, {key: 'ipc:41', id: 'ipcns:41'}, {key: 'uts:42', id: 'utsns:42'}, {key: 'pid:43', id: 'pidns:43'}, undefined])
  })
})

describe('sandbox ids when the kernel reuses a namespace inode', () => {
  const sb = (pausePid: number, attempt: number | null, uid = 'u-9'): Sandbox => ({
    id: 'netns:4026532178', keys: ['net:4026532178'], runtime: 'containerd', pod: {name: 'api-0', namespace: 'shop', uid, attempt}, pausePid,
    sharedNamespaces: ['ipc', 'net', 'uts'], sharedPidNamespace: false, ns: {net: 4026532178}, members: [pausePid], memberPidns: [], hostNetwork: false,
  } as unknown as Sandbox)

  it('a re-created pod that gets its predecessor\'s inode is a sandbox of its own, netns:<inode>~2, that replaces it', () => {
    const index = new SandboxIndex(HOST)
    index.update([sb(100, 0)])
    assert.deepEqual(index.update([sb(200, 1)]), ['netns:4026532178~2'])
    assert.deepEqual(index.all().map((s) => [s.id, s.pausePid, s.pod?.attempt, s.replaces]), [['netns:4026532178', 100, 0, null], ['netns:4026532178~2', 200, 1, 'netns:4026532178']])
    // later scans of the same namespaces keep the new id
    assert.deepEqual(index.update([sb(200, 1)]), [])
    // a different pod in the same inode again: ~3
    assert.deepEqual(index.update([sb(300, 0, 'u-10')]), ['netns:4026532178~3'])
    assert.deepEqual(['netns:4026532178~3', 'netns:4026532178~2', 'netns:4026532178'].map(baseId), ['netns:4026532178', 'netns:4026532178', 'netns:4026532178'])
  })

  it('a look in between that named no pod (the runtime had not listed the new sandbox yet) does not hide the re-creation', () => {
    const index = new SandboxIndex(HOST)
    index.update([sb(100, 0)])
    // the new pause in the reused inode, seen before the runtime lists its sandbox
    index.update([{...sb(200, 0), pod: null} as unknown as Sandbox])
    assert.deepEqual(index.update([sb(200, 1)]), ['netns:4026532178~2'])
    assert.deepEqual(index.get('netns:4026532178~2')?.replaces, 'netns:4026532178')
    assert.deepEqual(index.update([sb(200, 1)]), [])
  })

  it('the same pause named better (a cgroup\'s guess, then the CRI\'s answer) keeps its id', () => {
    const index = new SandboxIndex(HOST)
    index.update([{...sb(100, null, '893ce30b189d'), runtime: 'kubernetes'} as Sandbox])
    assert.deepEqual(index.update([sb(100, 0)]), ['netns:4026532178'])
    assert.deepEqual(index.all().map((s) => [s.id, s.runtime, s.pod?.uid]), [['netns:4026532178', 'containerd', 'u-9']])
  })

  it('bare namespaces (no pod) keep their id', () => {
    const index = new SandboxIndex(HOST)
    const bare = (pausePid: number): Sandbox => ({...sb(pausePid, 0), runtime: 'namespaces', pod: null}) as Sandbox
    index.update([bare(100)])
    index.update([bare(200)])
    assert.deepEqual(index.all().map((s) => [s.id, s.pausePid]), [['netns:4026532178', 200]])
  })
})
