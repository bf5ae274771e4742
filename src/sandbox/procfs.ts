// What /proc says about a task, for the live side of the decoder: targets of signals that
// bpftrace 0.17 cannot read in the kernel, children that exited before the trace began, and
// zombies present at the start. Every read tolerates the task vanishing mid-read.
import {readFileSync, readdirSync, readlinkSync} from 'node:fs'
import type {ProcInfo, ProcResolver} from '../events/process-info.js'
import type {ProcEntry} from './scan.js'

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

export function nsInode(pid: number | 'self', ns: string, root = '/proc'): number {
  try {
    const m = /\[(\d+)\]/.exec(readlinkSync(`${root}/${pid}/ns/${ns}`))
    return m ? Number(m[1]) : 0
  } catch {
    return 0
  }
}

function field(status: string, name: string): string | undefined {
  const m = new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)
  return m?.[1]
}

/** The exit code field (52) of /proc/PID/stat, after the comm in parentheses. */
export function statExitCode(stat: string): number | undefined {
  const close = stat.lastIndexOf(')')
  if (close < 0) return undefined
  const rest = stat.slice(close + 2).split(' ')
  // rest[0] is field 3 (state); field 52 is rest[49]
  const v = rest[49]
  return v === undefined ? undefined : Number(v)
}

export function readTask(tid: number, root = '/proc'): ProcInfo | undefined {
  const status = read(`${root}/${tid}/status`)
  if (!status) return undefined
  const nspid = (field(status, 'NSpid') ?? String(tid)).trim().split(/\s+/).map(Number)
  const tgid = Number(field(status, 'Tgid') ?? tid)
  const nstgid = (field(status, 'NStgid') ?? String(tgid)).trim().split(/\s+/).map(Number)
  return {
    tid,
    pid: tgid,
    comm: field(status, 'Name') ?? '',
    innerPid: nstgid.at(-1) ?? null,
    pidns: nsInode(tid, 'pid', root),
    level: nspid.length - 1,
    netns: nsInode(tid, 'net', root),
    ipcns: nsInode(tid, 'ipc', root),
    utsns: nsInode(tid, 'uts', root),
    mntns: nsInode(tid, 'mnt', root),
    cgroupId: 0,
    ppid: Number(field(status, 'PPid') ?? 0),
  }
}

/** Thread ids of a process (itself when its task list cannot be read). */
export function threadsOf(pid: number, root = '/proc'): number[] {
  try {
    return readdirSync(`${root}/${pid}/task`).filter((t) => /^\d+$/.test(t)).map(Number)
  } catch {
    return [pid]
  }
}

/** A /proc resolver with a snapshot taken at the start (for zombies and namespaced PIDs). */
export class ProcfsResolver implements ProcResolver {
  private nsToHost = new Map<string, number>()
  private zombies = new Map<number, number>()
  /** every process at the snapshot, for tasks that are gone by the time a line names them */
  private atStart = new Map<number, ProcInfo>()
  /** thread ids of every task in a sandbox at the snapshot (not in the host's net or PID namespace) */
  readonly sandboxTids: number[] = []
  readonly hostNetns: number

  constructor(private readonly root = '/proc') {
    this.hostNetns = nsInode('self', 'net', root)
  }

  /** Takes the start snapshot from entries already scanned (see scan.ts). */
  fromEntries(entries: ProcEntry[]): void {
    for (const e of entries) {
      const info: ProcInfo = {
        tid: e.pid, pid: e.pid, comm: e.comm, innerPid: e.nspid.at(-1) ?? e.pid, pidns: e.ns.pid, level: e.nspid.length - 1,
        netns: e.ns.net, ipcns: e.ns.ipc, utsns: e.ns.uts, mntns: e.ns.mnt, cgroupId: 0, ppid: e.ppid,
      }
      this.atStart.set(e.pid, info)
      if (info.level > 0) this.nsToHost.set(`${e.ns.pid}:${info.innerPid}`, e.pid)
      if (e.state === 'Z' && e.exitStatus !== undefined) this.zombies.set(e.pid, e.exitStatus)
    }
  }

  snapshot(): void {
    let entries: string[]
    try {
      entries = readdirSync(this.root)
    } catch {
      return
    }
    for (const e of entries) {
      if (!/^\d+$/.test(e)) continue
      const pid = Number(e)
      const t = readTask(pid, this.root)
      if (!t) continue
      this.atStart.set(pid, t)
      if (t.level > 0 && t.innerPid !== null) this.nsToHost.set(`${t.pidns}:${t.innerPid}`, pid)
      if (t.level > 0 || (t.netns !== 0 && t.netns !== this.hostNetns)) {
        try {
          for (const tid of readdirSync(`${this.root}/${pid}/task`)) if (/^\d+$/.test(tid)) this.sandboxTids.push(Number(tid))
        } catch {
          this.sandboxTids.push(pid)
        }
      }
      const stat = read(`${this.root}/${pid}/stat`)
      if (stat && / Z /.test(stat.slice(stat.lastIndexOf(')')))) {
        const code = statExitCode(stat)
        if (code !== undefined) this.zombies.set(pid, code)
      }
    }
  }

  task(tid: number): ProcInfo | undefined {
    return readTask(tid, this.root) ?? this.atStart.get(tid)
  }

  hostPid(pidns: number, innerPid: number): number | undefined {
    return this.nsToHost.get(`${pidns}:${innerPid}`)
  }

  zombieStatus(hostPid: number): number | undefined {
    return this.zombies.get(hostPid)
  }
}
