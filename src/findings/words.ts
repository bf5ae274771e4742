// The words findings are written in: durations a person reads at a glance, processes as the text
// lines name them (comm[hostPID/innerPID]), pods as `namespace/name`, and what a signal's default
// action is (whether a dropped one would have ended the process).
import type {ProcRef, SandboxRecord} from '../events/types.js'
import {formatPids, formatTime} from '../ui/text-line.js'
import {podLabel} from '../ui/sandbox-names.js'

/** 3.01 s, 42 s, 2.5 min, 3 h: two significant figures below a minute, then minutes and hours. */
export function duration(ns: number): string {
  const s = Math.max(0, ns) / 1e9
  if (s < 10) return `${s.toFixed(2)} s`
  if (s < 120) return `${s.toFixed(0)} s`
  if (s < 7200) return `${(s / 60).toFixed(1)} min`
  return `${(s / 3600).toFixed(1)} h`
}

/** A time in the trace, as the text lines print it: +3.790000s. */
export const at = formatTime

/** sleep[4242/1]: a process as the text lines name it. */
export function who(p: Pick<ProcRef, 'comm' | 'pid' | 'innerPid'>): string {
  return `${p.comm || '?'}[${formatPids(p)}]`
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`
}

/** Where it happened: `shop/web`, `shop/web container app`, or the sandbox id when no pod is known. */
export function place(sandbox: SandboxRecord | undefined, id: string, container?: string): string {
  const pod = sandbox ? podLabel(sandbox) : id
  return container !== undefined ? `${pod} container ${container}` : pod
}

/** Signals whose default action ends the process (term or core): a drop of one of these matters. */
const FATAL_BY_DEFAULT = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 24, 25, 26, 27, 29, 30, 31])

export function endsByDefault(sig: number): boolean {
  return FATAL_BY_DEFAULT.has(sig) || (sig >= 32 && sig <= 64)
}
