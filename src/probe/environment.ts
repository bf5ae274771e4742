// Checks of the machine that tracing needs, shared by `doctor` and the tracing commands:
// privileges, tracefs, BTF. Each failure carries the fix.
import {existsSync} from 'node:fs'
import {readText} from '../proc/read.js'
import {EnvironmentError} from '../errors.js'

const CAP_SYS_PTRACE = 19
const CAP_SYS_ADMIN = 21
const CAP_PERFMON = 38
const CAP_BPF = 39

export function effectiveCaps(statusText?: string): bigint {
  const text = statusText ?? readText('/proc/self/status') ?? ''
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(text)
  return m ? BigInt(`0x${m[1]}`) : 0n
}

export function hasTracingPrivileges(euid = process.geteuid?.() ?? -1, caps = effectiveCaps()): boolean {
  if (euid === 0) return true
  const has = (bit: number): boolean => (caps & (1n << BigInt(bit))) !== 0n
  return (has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON))) && has(CAP_SYS_PTRACE)
}

/** Where tracefs is mounted, from /proc/self/mounts (readable without privileges). */
export function tracefsPath(mounts?: string): string | undefined {
  const text = mounts ?? readText('/proc/self/mounts') ?? ''
  const points = text
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[2] === 'tracefs')
    .map((f) => f[1])
  for (const p of ['/sys/kernel/tracing', '/sys/kernel/debug/tracing']) if (points.includes(p)) return p
  return undefined
}

export function hasBtf(): boolean {
  return existsSync('/sys/kernel/btf/vmlinux')
}

/** Throws the first environment problem that would stop a trace. */
export function assertCanTrace(): void {
  if (!hasTracingPrivileges()) throw new EnvironmentError('tracing needs root (or CAP_BPF + CAP_PERFMON + CAP_SYS_PTRACE); run it with sudo.', 'NOT_ROOT')
  if (!tracefsPath()) throw new EnvironmentError('tracefs is not mounted, so the kernel tracepoints are not visible; mount it with: sudo mount -t tracefs nodev /sys/kernel/tracing', 'NO_TRACEFS')
  if (!hasBtf()) throw new EnvironmentError('the kernel has no BTF (/sys/kernel/btf/vmlinux is missing); pausetrace reads namespaces through BTF and needs a kernel built with CONFIG_DEBUG_INFO_BTF=y.', 'NO_BTF')
}
