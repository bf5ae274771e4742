// Which bpftrace to run and what it can do: the command (flag, PAUSETRACE_BPFTRACE, PATH), its
// version, and the program syntax and environment that version needs.
import os from 'node:os'
import {execFile} from 'node:child_process'
import {accessSync, closeSync, constants, openSync, statSync} from 'node:fs'
import path from 'node:path'
import {EnvironmentError} from '../errors.js'

export const MIN_VERSION = {major: 0, minor: 17}

export interface BpftraceInfo {
  command: string
  /** as printed, e.g. "v0.17.0" */
  version: string
  major: number
  minor: number
  /** where the command came from */
  source: 'flag' | 'env' | 'path'
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK)
    return statSync(p).isFile()
  } catch {
    return false
  }
}

export function findBpftrace(flag?: string, env: NodeJS.ProcessEnv = process.env): {command: string; source: BpftraceInfo['source']} {
  if (flag) {
    if (!isExecutable(flag)) throw new EnvironmentError(`--bpftrace ${flag} is not an executable file; give the path of a bpftrace binary or wrapper.`, 'BPFTRACE_MISSING')
    return {command: path.resolve(flag), source: 'flag'}
  }
  const fromEnv = env.PAUSETRACE_BPFTRACE
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new EnvironmentError(`PAUSETRACE_BPFTRACE=${fromEnv} is not an executable file; unset it or point it at a bpftrace binary.`, 'BPFTRACE_MISSING')
    return {command: path.resolve(fromEnv), source: 'env'}
  }
  for (const dir of (env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (!dir) continue
    const p = path.join(dir, 'bpftrace')
    if (isExecutable(p)) return {command: p, source: 'path'}
  }
  throw new EnvironmentError('bpftrace is not installed (not on PATH); install it (Debian/Ubuntu: sudo apt-get install -y bpftrace) or pass --bpftrace PATH.', 'BPFTRACE_MISSING')
}

export function parseVersion(text: string): {version: string; major: number; minor: number} | undefined {
  const m = /v?(\d+)\.(\d+)(?:\.(\d+))?\S*/.exec(text)
  if (!m) return undefined
  return {version: `v${m[1]}.${m[2]}.${m[3] ?? '0'}`, major: Number(m[1]), minor: Number(m[2])}
}

export async function bpftraceInfo(flag?: string, env: NodeJS.ProcessEnv = process.env): Promise<BpftraceInfo> {
  const {command, source} = findBpftrace(flag, env)
  const out = await new Promise<string>((resolve, reject) => {
    execFile(command, ['--version'], {timeout: 20_000}, (err, stdout, stderr) => {
      if (err) reject(new EnvironmentError(`${command} --version failed: ${(stderr || err.message).trim().split('\n').at(-1)}`, 'BPFTRACE_BROKEN'))
      else resolve(stdout + stderr)
    })
  })
  const v = parseVersion(out)
  if (!v) throw new EnvironmentError(`could not read the version of ${command} (it printed ${JSON.stringify(out.trim().slice(0, 80))}).`, 'BPFTRACE_BROKEN')
  if (v.major < MIN_VERSION.major || (v.major === MIN_VERSION.major && v.minor < MIN_VERSION.minor)) {
    throw new EnvironmentError(`bpftrace ${v.version} is too old; pausetrace needs 0.17 or newer (Debian 12, Ubuntu 24.04 and later ship one).`, 'BPFTRACE_TOO_OLD')
  }
  return {command, source, ...v}
}

/** bpftrace 0.19 made `args` a struct (`args.x`); `args->x` is kept for old versions. */
export function usesArgsDot(info: Pick<BpftraceInfo, 'major' | 'minor'>): boolean {
  return info.major > 0 || info.minor >= 19
}

/** Kernels from 6.5 declare `struct pid.numbers` as a flexible array. */
export function kernelHasPidFlexArray(release: string): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release)
  if (!m) return true
  const [maj, min] = [Number(m[1]), Number(m[2])]
  return maj > 6 || (maj === 6 && min >= 5)
}

/**
 * Pages per CPU for bpftrace 0.17's per-CPU perf buffers: 16 MiB in all, each CPU's a power of
 * two between 1 MiB (256 pages) and 8 MiB (2048), so that a burst while the reader is behind
 * does not overflow them on small nodes, and a 64-CPU node does not lock 512 MiB.
 */
export function perCpuPages(cpus: number): number {
  const budget = 4096 / Math.max(1, cpus)
  let pages = 256
  while (pages * 2 <= Math.min(2048, budget)) pages *= 2
  return pages
}

/** Environment for the bpftrace child: bigger maps and buffers than the defaults. */
export function bpftraceEnv(info: Pick<BpftraceInfo, 'major' | 'minor'>, env: NodeJS.ProcessEnv = process.env, cpus = os.availableParallelism()): NodeJS.ProcessEnv {
  const ringbuf = info.major > 0 || info.minor >= 18
  return {
    ...env,
    BPFTRACE_MAP_KEYS_MAX: env.BPFTRACE_MAP_KEYS_MAX ?? '65536',
    // 0.17: per-CPU perf buffers (pages per CPU); 0.18+: one ring buffer shared by all CPUs.
    BPFTRACE_PERF_RB_PAGES: env.BPFTRACE_PERF_RB_PAGES ?? (ringbuf ? '2048' : String(perCpuPages(cpus))),
  }
}

/** stderr lines every run prints on some machines, that say nothing is wrong. */
export function isBenignStderr(line: string): boolean {
  return /RLIMIT_MEMLOCK/.test(line) || /available_filter_functions/.test(line) || line.trim() === ''
}

/** bpftrace 0.18 added rawtracepoint probes: the target of a signal can be read in the kernel. */
export function hasRawTracepoints(info: Pick<BpftraceInfo, 'major' | 'minor'>): boolean {
  return info.major > 0 || info.minor >= 18
}

/**
 * bpftrace 0.24+ resolves raw tracepoints through available_filter_functions; where that file
 * cannot be read (locked-down kernels) it needs --traceable-functions FILE naming the ones used.
 */
export function needsTraceableFunctions(info: Pick<BpftraceInfo, 'major' | 'minor'>, tracefs: string | undefined): boolean {
  if (!(info.major > 0 || info.minor >= 24)) return false
  try {
    const fd = openSync(`${tracefs ?? '/sys/kernel/tracing'}/available_filter_functions`, 'r')
    closeSync(fd)
    return false
  } catch {
    return true
  }
}

/** The functions --traceable-functions must name for the raw tracepoints a program attaches. */
export function traceableFunctions(program: string): string[] {
  const names = new Set([...program.matchAll(/\brawtracepoint:(\w+)/g)].map((m) => m[1]))
  return [...names].flatMap((n) => [`__probestub_${n}`, `__traceiter_${n}`])
}
