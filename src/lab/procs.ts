// What the lab reads from /proc about the processes it made: identity (PID + start time, so a
// reused PID is never taken for ours), state, parent, PIDs per namespace, namespaces, children,
// zombies. Every read tolerates the process vanishing mid-read.
import {caughtSignals, listPids, nsInode, readComm, readStat, readStatus, statusNumbers} from '../proc/read.js'

export interface ProcStat {
  state: string
  ppid: number
  /** start time in clock ticks since boot (field 22) */
  start: string
}

export function procStat(pid: number): ProcStat | undefined {
  const st = readStat(pid)
  return st && {state: st.state, ppid: st.ppid, start: st.start}
}

/** A process the lab started, pinned by its start time. */
export interface ProcIdentity {
  pid: number
  start: string
  what: string
}

export function identify(pid: number, what: string): ProcIdentity | undefined {
  const st = pid > 0 ? procStat(pid) : undefined
  return st ? {pid, start: st.start, what} : undefined
}

/** Still the same process, and not a zombie. */
export function isAlive(p: ProcIdentity): boolean {
  const st = procStat(p.pid)
  return st !== undefined && st.start === p.start && st.state !== 'Z'
}

/** Still the same process, zombie or not (a zombie holds its PID until reaped). */
export function exists(p: ProcIdentity): boolean {
  return procStat(p.pid)?.start === p.start
}

/** SIGKILL (or another signal) to the process only if it is still the one the lab started. */
export function signalIdentity(p: ProcIdentity, signal: NodeJS.Signals): boolean {
  if (!isAlive(p)) return false
  try {
    process.kill(p.pid, signal)
    return true
  } catch {
    return false
  }
}

export function comm(pid: number): string | undefined {
  return readComm(pid)
}

/** The `NSpid:` line: host PID first, the PID in the process's own namespace last. */
export function nsPids(pid: number): number[] | undefined {
  const status = readStatus(pid)
  return status?.has('NSpid') ? statusNumbers(status, 'NSpid', pid) : undefined
}

/** The PID inside the process's own PID namespace. */
export function innerPid(pid: number): number | undefined {
  return nsPids(pid)?.at(-1)
}

/** Namespace inode, e.g. 4026532252 for `net:[4026532252]`; 0 when it cannot be read. */
export function nsOf(pid: number, ns: 'pid' | 'net' | 'ipc' | 'uts' | 'mnt'): number {
  return nsInode(pid, ns)
}

export function catches(pid: number, sig: number): boolean {
  return (caughtSignals(pid) & (1n << BigInt(sig - 1))) !== 0n
}

/** Zombies whose parent is `ppid`. */
export function zombiesOf(ppid: number): number[] {
  const out: number[] = []
  for (const pid of listPids()) {
    const st = procStat(pid)
    if (st?.state === 'Z' && st.ppid === ppid) out.push(pid)
  }
  return out.sort((a, b) => a - b)
}

export class AbortedError extends Error {
  constructor() {
    super('interrupted')
    this.name = 'AbortedError'
  }
}

/** Polls `cond` every 20 ms until it holds; throws after `ms` or when `signal` aborts. */
export async function waitFor(cond: () => boolean, ms: number, what: string, signal?: AbortSignal): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (signal?.aborted) throw new AbortedError()
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(20, signal)
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError())
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(new AbortedError())
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, {once: true})
  })
}
