// What /proc says about a task, for the live side of the decoder: targets of signals that
// bpftrace 0.17 cannot read in the kernel, children that exited before the trace began, and
// zombies present at the start. Every read tolerates the task vanishing mid-read.
import {nsInode, readComm, readStatus, statusNumbers, taskListed} from '../proc/read.js'
import type {ProcInfo, ProcResolver} from '../events/process-info.js'
import type {ProcEntry} from './scan.js'

export function readTask(tid: number, root = '/proc'): ProcInfo | undefined {
  const status = readStatus(tid, root)
  if (!status) return undefined
  const nspid = statusNumbers(status, 'NSpid', tid)
  const tgid = Number(status.get('Tgid') ?? tid)
  const nstgid = statusNumbers(status, 'NStgid', tgid)
  return {
    tid,
    pid: tgid,
    comm: status.get('Name') ?? '',
    innerPid: nstgid.at(-1) ?? null,
    pidns: nsInode(tid, 'pid', root),
    level: nspid.length - 1,
    netns: nsInode(tid, 'net', root),
    ipcns: nsInode(tid, 'ipc', root),
    utsns: nsInode(tid, 'uts', root),
    mntns: nsInode(tid, 'mnt', root),
    cgroupId: 0,
    ppid: Number(status.get('PPid') ?? 0),
  }
}

/** A /proc resolver with a snapshot taken at the start (for zombies and namespaced PIDs), from a scan. */
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

  task(tid: number): ProcInfo | undefined {
    const start = this.atStart.get(tid)
    const live = taskListed(tid, this.root) ? readTask(tid, this.root) : undefined
    if (!live) return start
    // Exiting (or a zombie), it has lost its namespaces: /proc gives none. The same process seen
    // at the start (same name and parent) still says where it lived: its sandbox, not the host.
    if (start && (live.netns === 0 || live.pidns === 0) && start.comm === live.comm && start.ppid === live.ppid) {
      return {...live, netns: start.netns, ipcns: start.ipcns, utsns: start.utsns, mntns: start.mntns, pidns: start.pidns, level: start.level, innerPid: live.innerPid ?? start.innerPid}
    }
    return live
  }

  comm(tid: number): string | undefined {
    return (taskListed(tid, this.root) ? readComm(tid, this.root) : undefined) ?? this.atStart.get(tid)?.comm
  }

  hostPid(pidns: number, innerPid: number): number | undefined {
    return this.nsToHost.get(`${pidns}:${innerPid}`)
  }

  zombieStatus(hostPid: number): number | undefined {
    return this.zombies.get(hostPid)
  }
}
