// Reads /proc into ProcEntry values: NSpid, namespaces, parent, state, cgroup, and for zombies
// the wait status they will report (stat field 52) and their age. Every read tolerates the
// process vanishing mid-scan (it is then skipped or partly filled, never an error).
import {readFileSync, readdirSync} from 'node:fs'
import {nsInode, statExitCode} from './procfs.js'

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

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

/**
 * With `host` given, a process in the host's net and PID namespaces (most of a node) is read
 * lightly: its other namespaces are taken as the host's and its cmdline and cgroup are skipped.
 */
export function readProcEntry(pid: number, root = '/proc', host?: Record<NsType, number>): ProcEntry | undefined {
  const status = read(`${root}/${pid}/status`)
  if (!status) return undefined
  if (host) {
    const net = nsInode(pid, 'net', root)
    const pidns = nsInode(pid, 'pid', root)
    if (net === host.net && pidns === host.pid) {
      const f = (name: string): string | undefined => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1]
      const state = (f('State') ?? '?').charAt(0)
      const light: ProcEntry = {
        pid, ppid: Number(f('PPid') ?? 0), comm: f('Name') ?? '', cmdline: [], state,
        nspid: (f('NSpid') ?? String(pid)).trim().split(/\s+/).map(Number), ns: {...host}, cgroup: '',
      }
      // a zombie of a sandbox has lost its net namespace: it needs the full read
      if (state !== 'Z') return light
    }
  }
  const field = (name: string): string | undefined => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1]
  const stat = read(`${root}/${pid}/stat`) ?? ''
  const close = stat.lastIndexOf(')')
  const rest = close >= 0 ? stat.slice(close + 2).split(' ') : []
  const state = rest[0] ?? (field('State') ?? '?').charAt(0)
  const ns = {} as Record<NsType, number>
  for (const t of NS_TYPES) ns[t] = nsInode(pid, t, root)
  const cmd = read(`${root}/${pid}/cmdline`) ?? ''
  const entry: ProcEntry = {
    pid,
    ppid: Number(field('PPid') ?? 0),
    comm: field('Name') ?? '',
    cmdline: cmd.split('\0').filter((s, i, a) => s !== '' || i < a.length - 1),
    state,
    nspid: (field('NSpid') ?? String(pid)).trim().split(/\s+/).map(Number),
    ns,
    cgroup: read(`${root}/${pid}/cgroup`) ?? '',
    startTicks: rest[19] !== undefined ? Number(rest[19]) : undefined,
  }
  if (state === 'Z') entry.exitStatus = statExitCode(stat)
  return entry
}

/** Every process (thread-group leaders) now; with `host`, host processes are read lightly. */
export function scanProc(root = '/proc', host?: Record<NsType, number>): ProcEntry[] {
  let names: string[]
  try {
    names = readdirSync(root)
  } catch {
    return []
  }
  const out: ProcEntry[] = []
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue
    const e = readProcEntry(Number(n), root, host)
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
