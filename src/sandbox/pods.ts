// The `pods` view: each sandbox with its processes (as a tree, inner PIDs shown) and zombies
// (with the wait status they will report), as JSON records or a readable table. Pure.
import type {ProcEntry} from './scan.js'
import {sandboxRecord, type Sandbox} from './registry.js'
import type {ProcRef, Role, SandboxRecord, WaitStatus} from '../events/types.js'
import {fromWaitStatus} from '../events/wait-status.js'
import {formatStatus} from '../ui/text-line.js'
import {attemptText, podLabel} from '../ui/sandbox-names.js'

export interface PodProcess extends ProcRef {
  ppid: number
  state: string
}

export interface PodZombie extends PodProcess {
  status: WaitStatus | null
  /** seconds since the process started (when it became a zombie is not kept by the kernel) */
  ageSeconds: number | null
}

export type PodView = SandboxRecord & {processes: PodProcess[]; zombies: PodZombie[]}

export const HOST_ID = 'host'

export function buildPodViews(sandboxes: Sandbox[], procs: ProcEntry[], opts: {all?: boolean; uptimeSeconds?: number; ticksPerSecond?: number} = {}): PodView[] {
  const byPid = new Map(procs.map((p) => [p.pid, p]))
  const tick = opts.ticksPerSecond ?? 100
  const view = (id: string, rec: SandboxRecord, pids: number[], pausePid: number | null, containers: Record<number, string> = {}): PodView => {
    const processes: PodProcess[] = []
    const zombies: PodZombie[] = []
    for (const pid of pids) {
      const p = byPid.get(pid)
      if (!p) continue
      const role: Role = id === HOST_ID ? 'host' : pid === pausePid ? 'pause' : 'container'
      const ref: PodProcess = {pid, comm: p.comm, innerPid: p.nspid.at(-1) ?? pid, sandbox: id === HOST_ID ? null : id, role, ppid: p.ppid, state: p.state}
      if (containers[pid] !== undefined && role === 'container') ref.container = containers[pid]
      processes.push(ref)
      if (p.state === 'Z') {
        const age = opts.uptimeSeconds !== undefined && p.startTicks !== undefined ? Math.max(0, Math.round(opts.uptimeSeconds - p.startTicks / tick)) : null
        zombies.push({...ref, status: p.exitStatus !== undefined ? fromWaitStatus(p.exitStatus) : null, ageSeconds: age})
      }
    }
    return {...rec, processes, zombies}
  }
  const out = sandboxes.map((s) => view(s.id, sandboxRecord(s), s.members, s.pausePid, s.containers))
  if (opts.all) {
    const inSandbox = new Set(sandboxes.flatMap((s) => s.members))
    const hostPids = procs.filter((p) => !inSandbox.has(p.pid)).map((p) => p.pid)
    const rec: SandboxRecord = {type: 'sandbox', id: HOST_ID, runtime: 'namespaces', pod: null, pausePid: null, sharedNamespaces: [], sharedPidNamespace: false, ns: {}}
    out.push(view(HOST_ID, rec, hostPids, null))
  }
  return out
}

function procLabel(p: PodProcess): string {
  const inner = p.innerPid !== null && p.innerPid !== p.pid ? `/${p.innerPid}` : ''
  const role = p.role === 'pause' ? ' (pause)' : p.container !== undefined ? ` (container ${p.container})` : ''
  return `${p.comm}[${p.pid}${inner}]${role}${p.state === 'Z' ? ' <zombie>' : ''}`
}

function tree(processes: PodProcess[]): string[] {
  const pids = new Set(processes.map((p) => p.pid))
  const kids = new Map<number, PodProcess[]>()
  for (const p of processes) {
    const parent = pids.has(p.ppid) ? p.ppid : 0
    if (!kids.has(parent)) kids.set(parent, [])
    kids.get(parent)?.push(p)
  }
  const lines: string[] = []
  const walk = (parent: number, prefix: string): void => {
    const list = kids.get(parent) ?? []
    list.forEach((p, i) => {
      const last = i === list.length - 1
      lines.push(`${prefix}${parent === 0 ? '' : last ? '└─ ' : '├─ '}${procLabel(p)}`)
      walk(p.pid, parent === 0 ? prefix : prefix + (last ? '   ' : '│  '))
    })
  }
  walk(0, '    ')
  return lines
}

export function formatPodViews(views: PodView[]): string {
  if (views.length === 0) return 'No pod sandboxes on this node: every process shares the host\'s net, IPC and UTS namespaces and its PID namespace.'
  const blocks = views.map((v) => {
    const name = v.id === HOST_ID ? 'host processes' : v.pod ? `${podLabel(v)}${attemptText(v)}` : '(no pod name)'
    const head = [
      `${name}  [${v.id}]`,
      `  runtime ${v.runtime} · pause ${v.pausePid ?? 'none'} · shares ${v.sharedNamespaces.join(',') || '-'} · PID namespace shared: ${v.sharedPidNamespace ? 'yes' : 'no'}${v.hostNetwork ? ' · host network' : ''} · ${v.processes.length} process(es)`,
    ]
    const z = v.zombies.map((zz) => `  zombie ${zz.comm}[${zz.pid}${zz.innerPid !== zz.pid ? `/${zz.innerPid}` : ''}] ${zz.status ? formatStatus(zz.status) : 'status unknown'}${zz.ageSeconds !== null ? `, started ${zz.ageSeconds}s ago` : ''}, parent ${zz.ppid} should reap it`)
    return [...head, ...(v.id === HOST_ID ? [] : tree(v.processes)), ...z].join('\n')
  })
  return blocks.join('\n\n')
}
