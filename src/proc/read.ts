// The one /proc reader: every other module (sandbox scans, the decoder's resolver, the lab, the
// benchmark, the tests) reads processes through these functions. Each read tolerates the process
// vanishing mid-read (undefined, 0 or [] then, never an error); `root` is /proc unless a test
// points it at a copy. No dependencies beyond node:fs.
import {readFileSync, readdirSync, readlinkSync, statSync} from 'node:fs'

export const PROC = '/proc'

/** A file's text, or undefined when it cannot be read (gone, no permission). */
export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

/**
 * Whether /proc still lists a task: a stat that says no without an exception (a read of a gone
 * task throws one, which costs more than the read; short-lived tasks are often gone).
 */
export function taskListed(pid: number, root = PROC): boolean {
  return statSync(`${root}/${pid}`, {throwIfNoEntry: false}) !== undefined
}

/** /proc/PID/status as name → value (the text after the colon, trimmed). */
export type Status = Map<string, string>

export function parseStatus(text: string): Status {
  const out: Status = new Map()
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':')
    if (colon > 0) out.set(line.slice(0, colon), line.slice(colon + 1).trim())
  }
  return out
}

export function readStatus(pid: number | 'self', root = PROC): Status | undefined {
  const text = readText(`${root}/${pid}/status`)
  return text === undefined ? undefined : parseStatus(text)
}

/** A status line of numbers (NSpid, NStgid): host first, the innermost namespace last. */
export function statusNumbers(status: Status, name: string, fallback: number): number[] {
  const v = status.get(name)
  return v ? v.split(/\s+/).map(Number) : [fallback]
}

/** The fields of /proc/PID/stat that pausetrace uses. */
export interface Stat {
  /** the task's name (field 2, without its parentheses) */
  comm: string
  /** one letter: R S D Z T t X I */
  state: string
  ppid: number
  /** start time in clock ticks since boot (field 22), as text: compared, never computed with */
  start: string
  /** utime + stime, clock ticks (fields 14, 15) */
  cpuTicks: number
  /** the wait status a zombie will report (field 52) */
  exitCode: number | undefined
}

export function parseStat(text: string): Stat | undefined {
  // comm may hold spaces and parentheses: the fields after it follow the last ')'.
  const close = text.lastIndexOf(')')
  if (close < 0) return undefined
  const rest = text.slice(close + 2).split(' ')
  // rest[0] is field 3 (state)
  return {comm: text.slice(text.indexOf('(') + 1, close), state: rest[0], ppid: Number(rest[1]), start: rest[19], cpuTicks: Number(rest[11]) + Number(rest[12]), exitCode: rest[49] === undefined ? undefined : Number(rest[49])}
}

export function readStat(pid: number, root = PROC): Stat | undefined {
  const text = readText(`${root}/${pid}/stat`)
  return text === undefined ? undefined : parseStat(text)
}

export function readComm(pid: number, root = PROC): string | undefined {
  return readText(`${root}/${pid}/comm`)?.trim()
}

/** The arguments of /proc/PID/cmdline ([] for a kernel thread or a zombie). */
export function readCmdline(pid: number, root = PROC): string[] {
  const text = readText(`${root}/${pid}/cmdline`) ?? ''
  return text.split('\0').filter((s, i, a) => s !== '' || i < a.length - 1)
}

/** A namespace's inode (4026532252 for `net:[4026532252]`); 0 when it cannot be read (a zombie's). */
export function nsInode(pid: number | 'self', type: string, root = PROC): number {
  try {
    const m = /\[(\d+)\]/.exec(readlinkSync(`${root}/${pid}/ns/${type}`))
    return m ? Number(m[1]) : 0
  } catch {
    return 0
  }
}

/** Numeric entries of a /proc directory: every process, or with `pid` that process's threads. */
export function listPids(root = PROC, pid?: number): number[] {
  let names: string[]
  try {
    names = readdirSync(pid === undefined ? root : `${root}/${pid}/task`)
  } catch {
    return pid === undefined ? [] : [pid]
  }
  const out: number[] = []
  for (const n of names) if (/^\d+$/.test(n)) out.push(Number(n))
  return out
}

/** Thread ids of a process (itself when its task list cannot be read). */
export function threadsOf(pid: number, root = PROC): number[] {
  return listPids(root, pid)
}

/** Direct children of a process, from every thread's `children` file. */
export function childrenOf(pid: number, root = PROC): number[] {
  const out = new Set<number>()
  for (const tid of listPids(root, pid)) {
    const text = readText(`${root}/${pid}/task/${tid}/children`)
    if (text) for (const c of text.trim().split(/\s+/)) if (c) out.add(Number(c))
  }
  return [...out]
}

/** Signals with a handler, from SigCgt (bit n-1 for signal n). */
export function caughtSignals(pid: number, root = PROC): bigint {
  const v = readStatus(pid, root)?.get('SigCgt')
  return v ? BigInt(`0x${v}`) : 0n
}

/** A kernel CPU list ("0-3,8,10-11") → the CPU numbers; [] when it cannot be read. */
export function parseCpuList(text: string): number[] {
  const cpus: number[] = []
  for (const part of text.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part)
    if (!m) return []
    const from = Number(m[1])
    const to = m[2] === undefined ? from : Number(m[2])
    if (to < from || to > 8191) return []
    for (let c = from; c <= to; c++) cpus.push(c)
  }
  return cpus
}

/** The online CPUs' numbers ([] when /sys does not say). */
export function onlineCpus(sys = '/sys'): number[] {
  const text = readText(`${sys}/devices/system/cpu/online`)
  return text === undefined ? [] : parseCpuList(text)
}
