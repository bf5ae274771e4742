// The /proc resolver of the live decoder: a task /proc still lists but whose namespaces are gone
// (it is exiting, or a zombie) keeps the namespaces it had at the start, so that a signal to a
// dying pause is still the pause's (a race seen when `podman pod rm -f` kills catatonit).
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {ProcfsResolver} from '../../src/sandbox/procfs.js'
import type {ProcEntry} from '../../src/sandbox/scan.js'

describe('ProcfsResolver', () => {
  let root = ''
  before(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-procfs-'))
    mkdirSync(path.join(root, 'self', 'ns'), {recursive: true})
    // PID 4242, exiting: its status is there, its ns/ links are not
    mkdirSync(path.join(root, '4242'))
    writeFileSync(path.join(root, '4242', 'status'), 'Name:\tcatatonit\nState:\tZ (zombie)\nTgid:\t4242\nPPid:\t4200\nNSpid:\t4242\t1\nNStgid:\t4242\t1\n')
  })
  after(() => rmSync(root, {recursive: true, force: true}))

  const start: ProcEntry = {pid: 4242, ppid: 4200, comm: 'catatonit', cmdline: ['/catatonit'], state: 'S', nspid: [4242, 1], ns: {cgroup: 1, ipc: 41, mnt: 43, net: 40, pid: 44, time: 1, user: 1, uts: 42}, cgroup: ''}

  it('a dying task keeps the namespaces the start saw it in', () => {
    const r = new ProcfsResolver(root)
    r.fromEntries([start])
    const t = r.task(4242)
    assert.deepEqual([t?.comm, t?.netns, t?.ipcns, t?.utsns, t?.pidns, t?.level, t?.innerPid], ['catatonit', 40, 41, 42, 44, 1, 1])
  })

  it('not when the PID now belongs to another process (another name or parent)', () => {
    const r = new ProcfsResolver(root)
    r.fromEntries([{...start, comm: 'sleep'}])
    assert.deepEqual([r.task(4242)?.comm, r.task(4242)?.netns], ['catatonit', 0])
  })
})
