import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {fixturePath} from '../helpers/fixtures.js'
import {groupSandboxes, type Sandbox} from '../../src/sandbox/registry.js'
import {SandboxIndex} from '../../src/sandbox/sandbox-index.js'
import {resolvePodMeta} from '../../src/sandbox/metadata.js'
import {buildPodViews, formatPodViews} from '../../src/sandbox/pods.js'
import {parsePodmanPs} from '../../src/sandbox/podman.js'
import type {NsType, ProcEntry} from '../../src/sandbox/scan.js'
import type {ProcInfo} from '../../src/events/process-info.js'

// The host's namespaces on the machine the podman fixtures were recorded on.
const HOST: Record<NsType, number> = {cgroup: 4026531835, ipc: 4026531839, mnt: 4026531832, net: 4026531833, pid: 4026531836, time: 4026531834, user: 4026531837, uts: 4026531838}

/** A ProcEntry from the files test/fixtures/podman/record.sh wrote for one process. */
function entryFrom(dir: string, who: 'infra' | 'ctr'): ProcEntry {
  const read = (f: string): string => readFileSync(fixturePath(`podman/${dir}/${f}`), 'utf8')
  const status = read(`${who}.status`)
  const field = (n: string): string => new RegExp(`^${n}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? ''
  const ns = {...HOST}
  for (const line of read('ns.txt').split('\n')) {
    const m = /^(\w+) (\w+) \w+:\[(\d+)\]$/.exec(line)
    if (m && m[1] === who) ns[m[2] as NsType] = Number(m[3])
  }
  const nspid = field('NSpid').split(/\s+/).map(Number)
  return {pid: nspid[0], ppid: Number(field('PPid')), comm: field('Name'), cmdline: read(`${who}.cmdline`).trim().split(' '), state: field('State').charAt(0), nspid, ns, cgroup: read(`${who}.cgroup`)}
}

function ids(dir: string): Record<string, string> {
  return Object.fromEntries(readFileSync(fixturePath(`podman/${dir}/ids.env`), 'utf8').trim().split('\n').map((l) => l.split('=') as [string, string]))
}

describe('sandbox registry on real podman pods', () => {
  for (const [dir, shared] of [['shared-pid', true], ['private-pid', false]] as const) {
    describe(`${dir}`, () => {
      const id = ids(dir)
      const infra = entryFrom(dir, 'infra')
      const ctr = entryFrom(dir, 'ctr')
      const ps = parsePodmanPs([
        {Id: id.INFRA_ID, Names: [`${id.POD_ID.slice(0, 12)}-infra`], Pid: Number(id.INFRA_PID), Pod: id.POD_ID, PodName: id.POD_NAME, IsInfra: true, State: 'running'},
        {Id: id.CTR_ID, Names: [id.CTR_NAME], Pid: Number(id.CTR_PID), Pod: id.POD_ID, PodName: id.POD_NAME, IsInfra: false, State: 'running'},
      ])
      const host: ProcEntry = {...infra, pid: 1, ppid: 0, comm: 'init', cmdline: ['/sbin/init'], nspid: [1], ns: {...HOST}, cgroup: '0::/'}
      const sandboxes = groupSandboxes([host, infra, ctr], HOST, (s, pause, members) => resolvePodMeta(s, pause, members, {podman: ps}))

      it('groups the infra and the container into one sandbox with catatonit as its pause', () => {
        assert.equal(sandboxes.length, 1)
        const s = sandboxes[0] as Sandbox
        assert.equal(s.id, `netns:${infra.ns.net}`)
        assert.equal(s.pausePid, Number(id.INFRA_PID))
        assert.deepEqual(s.members, [Number(id.INFRA_PID), Number(id.CTR_PID)].sort((a, b) => a - b))
        assert.equal(s.sharedPidNamespace, shared)
        assert.deepEqual(s.sharedNamespaces, shared ? ['ipc', 'net', 'pid', 'uts'] : ['ipc', 'net', 'uts'])
        assert.deepEqual(s.ns, {net: infra.ns.net, ipc: infra.ns.ipc, uts: infra.ns.uts, pid: infra.ns.pid})
        assert.equal(s.runtime, 'podman')
        assert.deepEqual(s.pod, {name: id.POD_NAME, namespace: null, uid: id.POD_ID})
      })

      it('classifies the pause, the container, a zombie of the sandbox (no net namespace left) and the host', () => {
        const index = new SandboxIndex(HOST)
        index.update(sandboxes)
        const info = (e: ProcEntry, over: Partial<ProcInfo> = {}): ProcInfo => ({tid: e.pid, pid: e.pid, comm: e.comm, innerPid: e.nspid.at(-1) ?? null, pidns: e.ns.pid, level: e.nspid.length - 1, netns: e.ns.net, ipcns: e.ns.ipc, utsns: e.ns.uts, mntns: e.ns.mnt, cgroupId: 0, ppid: e.ppid, ...over})
        assert.deepEqual(index.classify(info(infra)), {sandbox: `netns:${infra.ns.net}`, role: 'pause'})
        assert.deepEqual(index.classify(info(ctr)), {sandbox: `netns:${infra.ns.net}`, role: 'container'})
        assert.deepEqual(index.classify(info(ctr, {netns: 0, ipcns: 0, utsns: 0})), {sandbox: `netns:${infra.ns.net}`, role: 'container'})
        assert.deepEqual(index.classify(info(host)), {sandbox: null, role: 'host'})
      })

      it('shows the pod in `pods`: JSON with inner PIDs, and a readable table', () => {
        const views = buildPodViews(sandboxes, [host, infra, ctr])
        assert.equal(views.length, 1)
        assert.deepEqual(views[0].processes.map((p) => [p.pid, p.innerPid, p.role, p.comm]), [
          [Number(id.INFRA_PID), 1, 'pause', 'catatonit'],
          [Number(id.CTR_PID), Number(ctr.nspid.at(-1)), 'container', 'sleep'],
        ])
        assert.equal(ctr.nspid.at(-1) === 1, !shared, 'the container is PID 1 of its own namespace only when the PID namespace is not shared')
        const text = formatPodViews(views)
        assert.match(text, new RegExp(`^${id.POD_NAME}  \\[netns:${infra.ns.net}\\]\\n  runtime podman · pause ${id.INFRA_PID} · .* · PID namespace shared: ${shared ? 'yes' : 'no'} · 2 process\\(es\\)`))
      })
    })
  }

  it('finds no sandbox when every process has the host namespaces, and says so', () => {
    const p: ProcEntry = {pid: 10, ppid: 1, comm: 'bash', cmdline: ['bash'], state: 'S', nspid: [10], ns: {...HOST}, cgroup: ''}
    assert.deepEqual(groupSandboxes([p], HOST), [])
    assert.match(formatPodViews([]), /^No pod sandboxes on this node/)
    assert.deepEqual(buildPodViews([], [p], {all: true}).map((v) => [v.id, v.processes.length]), [['host', 1]])
  })

  it('puts a process with the host net/ipc/uts but its own PID namespace in a pidns sandbox', () => {
    const p: ProcEntry = {pid: 20, ppid: 10, comm: 'init', cmdline: ['init'], state: 'S', nspid: [20, 1], ns: {...HOST, pid: 4026532999}, cgroup: ''}
    const s = groupSandboxes([p], HOST)
    assert.deepEqual(s.map((x) => [x.id, x.pausePid, x.ns]), [['pidns:4026532999', null, {pid: 4026532999}]])
  })
})

describe('a CRI sandbox\'s unnamed process asks for new looks, rationed', () => {
  // A container is made, then started: the runtime asked in between had no PID for it, so only a
  // later look names it. Measured on containerd 1.6: without a second ask, a container started
  // under a running trace stayed unnamed for the whole trace.
  const NET = 4026532500
  const pause: ProcEntry = {pid: 100, ppid: 1, comm: 'pause', cmdline: ['/pause'], state: 'S', nspid: [100, 1], ns: {...HOST, net: NET, ipc: NET + 1, uts: NET + 2, pid: NET + 3}, cgroup: ''}
  const ctr: ProcEntry = {pid: 200, ppid: 1, comm: 'sleep', cmdline: ['sleep', '3600'], state: 'S', nspid: [200, 1], ns: {...HOST, net: NET, ipc: NET + 1, uts: NET + 2, pid: NET + 4}, cgroup: ''}
  const info = (e: ProcEntry): ProcInfo => ({pid: e.pid, tid: e.pid, ppid: e.ppid, comm: e.comm, innerPid: 1, pidns: e.ns.pid, level: 1, netns: e.ns.net, ipcns: e.ns.ipc, utsns: e.ns.uts, mntns: e.ns.mnt, cgroupId: 0})
  const look = (index: SandboxIndex, named: boolean): void => {
    index.newLook()
    index.update(groupSandboxes([pause, ctr], HOST, () => ({runtime: 'containerd', pod: {name: 'web', namespace: 'shop', uid: 'u1', attempt: 0}, ...(named ? {containers: {200: 'app'}} : {})})))
  }

  it('asks once per look, for at most 5 looks, and never once the runtime names it', () => {
    const asked: number[] = []
    const index = new SandboxIndex(HOST, undefined, undefined, (i) => asked.push(i.pid))
    look(index, false)
    for (let i = 0; i < 10; i++) index.classify(info(ctr))
    assert.deepEqual(asked, [200], 'a burst of events asks once')
    for (let l = 0; l < 6; l++) {
      look(index, false)
      index.classify(info(ctr))
    }
    assert.equal(asked.length, 5, 'at most 5 looks')
    index.classify(info(pause))
    assert.equal(asked.length, 5, 'the pause never asks')

    const index2 = new SandboxIndex(HOST, undefined, undefined, (i) => asked.push(i.pid))
    asked.length = 0
    look(index2, false)
    index2.classify(info(ctr))
    look(index2, true)
    assert.deepEqual(index2.classify(info(ctr)), {sandbox: `netns:${NET}`, role: 'container', container: 'app'})
    assert.deepEqual(asked, [200])
  })
})

describe('a look that knows less keeps the pod of the same processes', () => {
  const NET = 4026532600
  const ctr: ProcEntry = {pid: 300, ppid: 1, comm: 'sleep', cmdline: ['sleep', '3600'], state: 'S', nspid: [300, 1], ns: {...HOST, net: NET, ipc: NET + 1, uts: NET + 2, pid: NET + 4}, cgroup: ''}
  const other: ProcEntry = {...ctr, pid: 301, nspid: [301, 1]}
  const named = () => ({runtime: 'containerd' as const, pod: {name: 'own', namespace: 'lab', uid: 'u2', attempt: 0}})

  it('the pause died and the runtime has not answered: the container still names its pod; other processes in a reused inode do not', () => {
    const index = new SandboxIndex(HOST)
    index.update(groupSandboxes([ctr], HOST, named))
    index.update(groupSandboxes([ctr], HOST))
    assert.deepEqual([index.get(`netns:${NET}`)?.runtime, index.get(`netns:${NET}`)?.pod?.name], ['containerd', 'own'])
    index.update(groupSandboxes([other], HOST))
    assert.deepEqual([index.get(`netns:${NET}`)?.runtime, index.get(`netns:${NET}`)?.pod], ['namespaces', null])
  })
})
