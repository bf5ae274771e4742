// Reads /proc into ProcEntry values: NSpid, namespaces, parent, state, cgroup, and for zombies
// the wait status they will report (stat field 52) and their age. Every read tolerates the
// process vanishing mid-scan (it is then skipped or partly filled, never an error).
import {listPids, nsInode, parseStat, readCmdline, readStatus, readText, statusNumbers} from '../proc/read.js'

export const NS_TYPES = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'time', 'user', 'uts'] as const
export type NsType = (typeof NS_TYPES)[number]

export interface ProcEntry {
  pid: number
  ppid: number
  comm: string
  cmdline: string[]
  /** one letter: R S D Z T t X I */
  state: string
  /** PIDs from the host's namespace down to the process's own (NSpid) */
  nspid: number[]
  /** namespace inodes; 0 when unreadable (a zombie has lost all but pid) */
  ns: Record<NsType, number>
  /** /proc/PID/cgroup, raw */
  cgroup: string
  /** zombies: the wait status they will report */
  exitStatus?: number
  /** start time, in clock ticks since boot (stat field 22) */
  startTicks?: number
}

/**
 * With `host` given, a process in the host's net and PID namespaces (most of a node) is read
 * lightly: its other namespaces are taken as the host's and its cmdline and cgroup are skipped.
 */
export function readProcEntry(pid: number, root = '/proc', host?: Record<NsType, number>): ProcEntry | undefined {
  const status = readStatus(pid, root)
  if (!status) return undefined
  const base = {pid, ppid: Number(status.get('PPid') ?? 0), comm: status.get('Name') ?? '', nspid: statusNumbers(status, 'NSpid', pid)}
  if (host) {
    const net = nsInode(pid, 'net', root)
    const pidns = nsInode(pid, 'pid', root)
    if (net === host.net && pidns === host.pid) {
      const state = (status.get('State') ?? '?').charAt(0)
      // a zombie of a sandbox has lost its net namespace: it needs the full read
      if (state !== 'Z') return {...base, cmdline: [], state, ns: {...host}, cgroup: ''}
    }
  }
  const stat = parseStat(readText(`${root}/${pid}/stat`) ?? '')
  const state = stat?.state ?? (status.get('State') ?? '?').charAt(0)
  const ns = {} as Record<NsType, number>
  for (const t of NS_TYPES) ns[t] = nsInode(pid, t, root)
  const entry: ProcEntry = {
    ...base,
    cmdline: readCmdline(pid, root),
    state,
    ns,
    cgroup: readText(`${root}/${pid}/cgroup`) ?? '',
    startTicks: stat?.start !== undefined ? Number(stat.start) : undefined,
  }
  if (state === 'Z') entry.exitStatus = stat?.exitCode
  return entry
}

/** Every process (thread-group leaders) now; with `host`, host processes are read lightly. */
export function scanProc(root = '/proc', host?: Record<NsType, number>): ProcEntry[] {
  const out: ProcEntry[] = []
  for (const pid of listPids(root)) {
    const e = readProcEntry(pid, root, host)
    if (e) out.push(e)
  }
  return out
}

/** The host's namespaces: those of the process reading them (pausetrace runs on the host). */
export function hostNamespaces(root = '/proc'): Record<NsType, number> {
  const ns = {} as Record<NsType, number>
  for (const t of NS_TYPES) ns[t] = nsInode('self', t, root)
  return ns
}
