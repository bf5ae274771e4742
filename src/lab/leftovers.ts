// Proof that the lab left nothing behind, checked by id: each process by PID and start time
// (zombies included), each namespace by inode, each directory by path, each mount by its path in
// the mount table. The kernel reuses the inode numbers of freed namespaces (another sandbox made a
// moment later may get the very same numbers), so a namespace counts as left behind only when a
// process of the lab's is still in it: one the lab made, or one found in it while the lab's own
// processes still held it, or one the trace saw in the lab's sandboxes.
import {existsSync} from 'node:fs'
import {listPids, nsInode, readText} from '../proc/read.js'
import type {Leftover, Made} from './runtime.js'
import {identify, procStat, type ProcIdentity} from './procs.js'

type NsMade = Extract<Made, {what: 'namespace'}>
type ProcMade = Extract<Made, {what: 'process'}>

/** PIDs of processes (zombies too) whose namespace of this type is this inode. */
export function nsHolders(type: string, inode: number): number[] {
  // (a process that is gone, or a kernel thread, reads as inode 0)
  return listPids().filter((pid) => nsInode(pid, type) === inode)
}

function mountTables(): string[] {
  return ['/proc/self/mountinfo', '/proc/1/mountinfo'].map(readText).filter((t): t is string => t !== undefined)
}

/** Mount-table lines that mention `text` (a path, a container id). */
export function mountsMentioning(text: string): string[] {
  const lines = new Set<string>()
  for (const table of mountTables()) for (const l of table.split('\n')) if (l.includes(text)) lines.add(l)
  return [...lines]
}

const sameProcess = (a: {pid: number; start: string}, b: {pid: number; start: string}): boolean => a.pid === b.pid && a.start === b.start

/**
 * Before the cleanup: every process now in one of the lab's namespaces that is the lab's. In a
 * namespace that one of the lab's made processes still holds, that is every process (the inode
 * cannot have been reused); elsewhere, only those `ours` says the trace saw in the lab's sandboxes.
 */
export function processesOfTheLab(made: readonly Made[], ours: (pid: number) => boolean): ProcIdentity[] {
  const procs = made.filter((m): m is ProcMade => m.what === 'process')
  const alive = (pid: number): boolean => procs.some((p) => p.pid === pid && procStat(pid)?.start === p.start)
  const out = new Map<number, ProcIdentity>()
  for (const ns of made.filter((m): m is NsMade => m.what === 'namespace')) {
    const holders = nsHolders(ns.type, ns.inode)
    const held = holders.some(alive)
    for (const pid of holders) {
      if (!held && !ours(pid)) continue
      const id = identify(pid, `a process in the lab's ${ns.type} namespace ${ns.inode}`)
      if (id) out.set(pid, id)
    }
  }
  return [...out.values()]
}

/** What is still there, after the cleanup: `found` are the processes processesOfTheLab returned. */
export function checkLeftovers(made: readonly Made[], found: readonly ProcIdentity[]): Leftover[] {
  const left: Leftover[] = []
  const procs: Array<{pid: number; start: string; comm: string; made: Made}> = [
    ...made.filter((m): m is ProcMade => m.what === 'process').map((m) => ({...m, made: m as Made})),
    ...found.filter((f) => !made.some((m) => m.what === 'process' && sameProcess(m, f))).map((f) => ({pid: f.pid, start: f.start, comm: f.what, made: {what: 'process', pid: f.pid, start: f.start, comm: f.what} as Made})),
  ]
  const stillThere = procs.filter((p) => procStat(p.pid)?.start === p.start)
  for (const p of stillThere) {
    const st = procStat(p.pid)
    if (!st) continue
    left.push({made: p.made, why: st.state === 'Z' ? `${p.comm} (PID ${p.pid}) is a zombie of PID ${st.ppid}` : `${p.comm} (PID ${p.pid}) is still running`, fix: `sudo kill -KILL ${st.state === 'Z' ? st.ppid : p.pid}`})
  }
  for (const m of made) {
    if (m.what === 'namespace') {
      const holders = nsHolders(m.type, m.inode).filter((pid) => stillThere.some((p) => p.pid === pid))
      if (holders.length > 0) left.push({made: m, why: `${m.type} namespace ${m.inode} is still held by PID ${holders.join(', ')}`, fix: `sudo kill -KILL ${holders.join(' ')}`})
    } else if (m.what === 'directory') {
      if (existsSync(m.path)) left.push({made: m, why: `directory ${m.path} is still there`, fix: `sudo rm -r ${m.path}`})
    } else if (m.what === 'mount') {
      if (mountsMentioning(` ${m.path} `).length > 0) left.push({made: m, why: `${m.path} is still mounted`, fix: `sudo umount ${m.path}`})
    }
  }
  return left
}
