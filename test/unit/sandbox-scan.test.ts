import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {scanProc, readProcEntry} from '../../src/sandbox/scan.js'
import {groupSandboxes} from '../../src/sandbox/registry.js'
import {resolvePodMeta} from '../../src/sandbox/metadata.js'
import type {CriSnapshot} from '../../src/sandbox/cri.js'

const HOST = {cgroup: 1, ipc: 2, mnt: 3, net: 4, pid: 5, time: 6, user: 7, uts: 8}

/** A fake /proc: each process gets the files given; a missing file is a process that vanished mid-scan. */
function fakeProc(procs: Array<{pid: number; status?: string; stat?: string; ns?: Record<string, number>; cgroup?: string; cmdline?: string}>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-proc-'))
  for (const p of procs) {
    const d = path.join(root, String(p.pid))
    mkdirSync(path.join(d, 'ns'), {recursive: true})
    if (p.status !== undefined) writeFileSync(path.join(d, 'status'), p.status)
    if (p.stat !== undefined) writeFileSync(path.join(d, 'stat'), p.stat)
    if (p.cgroup !== undefined) writeFileSync(path.join(d, 'cgroup'), p.cgroup)
    if (p.cmdline !== undefined) writeFileSync(path.join(d, 'cmdline'), p.cmdline)
    for (const [t, v] of Object.entries(p.ns ?? {})) symlinkSync(`${t}:[${v}]`, path.join(d, 'ns', t))
  }
  mkdirSync(path.join(root, 'self', 'ns'), {recursive: true})
  for (const [t, v] of Object.entries(HOST)) symlinkSync(`${t}:[${v}]`, path.join(root, 'self', 'ns', t))
  writeFileSync(path.join(root, 'uptime'), '100.0 50.0\n')
  return root
}

const status = (name: string, ppid: number, nspid: string, state = 'S (sleeping)'): string => `Name:\t${name}\nState:\t${state}\nPPid:\t${ppid}\nNSpid:\t${nspid}\n`
// fields 1-9, then 10..51 (starttime is field 22), then field 52: the exit code
const stat = (pid: number, comm: string, state: string, exit = 0): string => `${pid} (${comm}) ${state} 1 ${pid} ${pid} 0 -1 4194304 ${Array.from({length: 42}, (_, i) => (i === 12 ? 4200 : 0)).join(' ')} ${exit}`

describe('sandbox scan on a /proc where processes vanish', () => {
  let root: string
  afterEach(() => rmSync(root, {recursive: true, force: true}))

  it('skips processes whose status is gone, and keeps the ones half-read', () => {
    root = fakeProc([
      {pid: 100, status: status('pause', 90, '100\t1'), stat: stat(100, 'pause', 'S'), ns: {net: 40, ipc: 41, uts: 42, pid: 43, mnt: 44}, cmdline: '/pause\0'},
      {pid: 101}, // vanished: no files at all
      {pid: 102, status: status('sh', 100, '102\t2'), ns: {net: 40, ipc: 41, uts: 42, pid: 43}}, // stat and cmdline gone
      {pid: 103, status: status('sh', 102, '103\t3', 'Z (zombie)'), stat: stat(103, 'sh', 'Z', 0x0700), ns: {pid: 43}}, // a zombie: net/ipc/uts unreadable
    ])
    const procs = scanProc(root)
    assert.deepEqual(procs.map((p) => p.pid).sort(), [100, 102, 103])
    assert.equal(readProcEntry(101, root), undefined)
    const z = procs.find((p) => p.pid === 103)
    assert.deepEqual([z?.state, z?.exitStatus, z?.ns.net, z?.ns.pid], ['Z', 0x0700, 0, 43])
    const [s] = groupSandboxes(procs, HOST)
    assert.deepEqual([s.id, s.pausePid, s.members, s.sharedPidNamespace], ['netns:40', 100, [100, 102, 103], true])
  })

  it('returns nothing, without throwing, when /proc cannot be read at all', () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-proc-'))
    assert.deepEqual(scanProc(path.join(root, 'missing')), [])
  })
})

describe('pod metadata for Kubernetes sandboxes', () => {
  const pause = {
    pid: 500, ppid: 400, comm: 'pause', cmdline: ['/pause'], state: 'S', nspid: [500, 1], ns: {...HOST, net: 40, ipc: 41, uts: 42, pid: 43},
    // a real systemd-driver path shape (kernel-facts.md §4.2)
    cgroup: '0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod6b1a1d0e_9c2f_4a3b_8e1d_2f6c7b8a9d01.slice/cri-containerd-0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff.scope\n',
  }
  const [sandbox] = groupSandboxes([pause], HOST)

  it('names the pod from the CRI socket by the pod UID of its cgroup when the pause PID is not known to it', () => {
    const cri: CriSnapshot = {
      runtime: 'containerd', version: {runtimeName: 'containerd', runtimeVersion: '1.7.2', runtimeApiVersion: 'v1'},
      pods: [{id: 'abc', name: 'web-0', namespace: 'shop', uid: '6b1a1d0e-9c2f-4a3b-8e1d-2f6c7b8a9d01', attempt: 2, ready: true, createdAt: '1', pid: null, hostNetwork: null, containers: []}],
    }
    assert.deepEqual(resolvePodMeta(sandbox, pause, [pause], {cri}), {runtime: 'containerd', pod: {name: 'web-0', namespace: 'shop', uid: '6b1a1d0e-9c2f-4a3b-8e1d-2f6c7b8a9d01', attempt: 2}})
    // a sandbox of the same UID that is no longer ready (the one this pod replaced) is not it
    const gone = {...cri, pods: [{...cri.pods[0], ready: false}]}
    assert.deepEqual(resolvePodMeta(sandbox, pause, [pause], {cri: gone}), {runtime: 'kubernetes', pod: {name: '6b1a1d0e-9c2f-4a3b-8e1d-2f6c7b8a9d01', namespace: null, uid: '6b1a1d0e-9c2f-4a3b-8e1d-2f6c7b8a9d01'}})
  })

  it("names it from kubelet's /var/log/pods when no CRI socket answers", () => {
    const dirs = ['shop_web-0_6b1a1d0e-9c2f-4a3b-8e1d-2f6c7b8a9d01', 'kube-system_coredns-1_11111111-2222-3333-4444-555555555555']
    assert.deepEqual(resolvePodMeta(sandbox, pause, [pause], {podLogDirs: dirs}), {runtime: 'kubernetes', pod: {name: 'web-0', namespace: 'shop', uid: '6b1a1d0e-9c2f-4a3b-8e1d-2f6c7b8a9d01'}})
  })

  it('falls back to the pod UID alone, and to nothing for bare namespaces', () => {
    assert.deepEqual(resolvePodMeta(sandbox, pause, [pause], {}), {runtime: 'kubernetes', pod: {name: '6b1a1d0e-9c2f-4a3b-8e1d-2f6c7b8a9d01', namespace: null, uid: '6b1a1d0e-9c2f-4a3b-8e1d-2f6c7b8a9d01'}})
    const bare = {...pause, cgroup: '0::/user.slice\n'}
    assert.equal(resolvePodMeta(sandbox, bare, [bare], {}), undefined)
  })
})
