// Small /proc and process helpers for the benchmark: CPU and peak RSS of a PID, children,
// foreign tracers (bpftrace or podman started by someone else: they disturb timings), load.
import {spawn, type ChildProcess, type StdioOptions} from 'node:child_process'
import {childrenOf as allChildrenOf, listPids, readComm, readStat, readStatus, readText} from '../../src/proc/read.js'

export const CLK_TCK = 100

/** utime+stime (ms) of a process from /proc/PID/stat, or undefined once it is gone. */
export function cpuMs(pid: number): number | undefined {
  const st = readStat(pid)
  return st ? (st.cpuTicks * 1000) / CLK_TCK : undefined
}

/** VmHWM (peak RSS) in KiB, or undefined (gone, or a zombie). */
export function vmHwmKb(pid: number): number | undefined {
  const v = readStatus(pid)?.get('VmHWM')
  return v ? Number.parseInt(v, 10) : undefined
}

export function commOf(pid: number): string | undefined {
  return readComm(pid)
}

export function childrenOf(pid: number): number[] {
  return allChildrenOf(pid)
}

interface PInfo {
  pid: number
  ppid: number
  comm: string
}

function processes(): Map<number, PInfo> {
  const out = new Map<number, PInfo>()
  for (const pid of listPids()) {
    const st = readStat(pid)
    if (st) out.set(pid, {pid, comm: st.comm, ppid: st.ppid})
  }
  return out
}

const TRACERS = /^(bpftrace|podman|conmon|crun|runc|catatonit)$/

/** bpftrace / podman processes that are not descendants of this process (or of `roots`): other people's tests. */
export function foreignTracers(roots: ReadonlySet<number> = new Set()): string[] {
  const all = processes()
  const mine = (p: PInfo): boolean => {
    for (let cur: PInfo | undefined = p, n = 0; cur && n < 64; cur = all.get(cur.ppid), n++) if (cur.pid === process.pid || roots.has(cur.pid)) return true
    return false
  }
  const out: string[] = []
  for (const p of all.values()) if (TRACERS.test(p.comm) && !mine(p)) out.push(`${p.comm}[${p.pid}]`)
  return out.sort()
}

export function loadAvg(): number[] {
  return readText('/proc/loadavg')?.split(' ').slice(0, 3).map(Number) ?? []
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

export interface Proc {
  child: ChildProcess
  pid: number
  stdout: () => string
  stderr: () => string
  exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>
  done: boolean
}

const live = new Set<ChildProcess>()
let hook = false

/** Spawns a process that is killed (by PID) if the benchmark exits first. */
export function start(cmd: string, args: string[], opts: {env?: NodeJS.ProcessEnv; stdio?: StdioOptions; cwd?: string} = {}): Proc {
  if (!hook) {
    hook = true
    process.on('exit', () => {
      for (const c of live) c.kill('SIGKILL')
    })
  }
  const child = spawn(cmd, args, {env: opts.env ?? process.env, cwd: opts.cwd, stdio: opts.stdio ?? ['ignore', 'pipe', 'pipe']})
  live.add(child)
  let out = ''
  let err = ''
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()))
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()))
  const p: Proc = {
    child,
    pid: child.pid ?? -1,
    stdout: () => out,
    stderr: () => err,
    done: false,
    exited: new Promise((resolve) => {
      child.on('error', (e) => {
        err += String(e)
      })
      child.on('close', (code, signal) => {
        live.delete(child)
        p.done = true
        resolve({code, signal})
      })
    }),
  }
  return p
}

/** Kills every process start() made that is still running (by PID). */
export function killAll(): void {
  for (const c of live) c.kill('SIGKILL')
}

export async function waitFor(cond: () => boolean, ms: number, stepMs = 5): Promise<boolean> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) return false
    await sleep(stepMs)
  }
  return true
}

export function median(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return Number.NaN
  const m = Math.floor(v.length / 2)
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2
}
