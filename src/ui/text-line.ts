// One plain-text line per record, for pipes, CI logs and `replay --text`: no escape codes,
// fixed column order, host PIDs first with the PID inside the namespace after a slash.
import type {ProcRef, ReapEvent, SignalTarget, WaitStatus} from '../events/types.js'
import type {DecodedRecord} from '../events/decoder.js'
import {signalName} from '../events/names.js'

/** The host PID, then the PID inside its namespace after a slash when they differ: 21401/1. */
export function formatPids(p: Pick<ProcRef, 'pid' | 'innerPid'>): string {
  return p.innerPid !== null && p.innerPid !== undefined && p.innerPid !== p.pid ? `${p.pid}/${p.innerPid}` : `${p.pid}`
}

/** A sandbox id as a line names it: its pod's `namespace/name` when known (sandbox-names.ts). */
export type SandboxLabel = (id: string) => string

const asId: SandboxLabel = (id) => id

/** comm[hostPID/innerPID] @pod (pause) or (container NAME); the sandbox id where no pod is known. */
export function formatProc(p: ProcRef | undefined, label: SandboxLabel = asId): string {
  if (!p) return '?'
  const tid = p.tid !== undefined && p.tid !== p.pid ? ` tid ${p.tid}` : ''
  const role = p.role === 'pause' ? ' (pause)' : p.container !== undefined ? ` (container ${p.container})` : ''
  const where = p.sandbox ? ` @${label(p.sandbox)}${role}` : ''
  return `${p.comm || '?'}[${formatPids(p)}${tid}]${where}`
}

export function formatTarget(t: SignalTarget | undefined): string {
  if (!t) return ''
  if (t.all) return 'all processes'
  if (t.pgid !== undefined) return `process group ${t.pgid}`
  if (t.pidfd !== undefined) return `pidfd ${t.pidfd}${t.pid !== undefined ? ` (pid ${t.pid})` : ''}`
  if (t.tid !== undefined) return t.pid !== undefined ? `pid ${t.pid} tid ${t.tid}` : `tid ${t.tid}`
  return `pid ${t.pid}`
}

export function formatStatus(s: WaitStatus): string {
  if ('exited' in s) return `exited ${s.exited}`
  if ('signaled' in s) return `killed by ${signalName(s.signaled)}${s.core ? ' (core dumped)' : ''}`
  if ('stopped' in s) return `stopped by ${signalName(s.stopped)}`
  return 'continued'
}

/** Where a reap's status came from, when not from the caller's pointer. */
export function reapSource(r: ReapEvent): string {
  if (r.statusFrom !== 'exit') return ''
  return r.options === undefined ? ", status from the child's exit: the wait began before tracing" : ', no status pointer'
}

/** +0.326066s: seconds since the trace started, to the microsecond (the view's chains use it too). */
export function formatTime(t: number): string {
  return `+${(t / 1e9).toFixed(6)}s`
}

/** A record's line; `label` names sandboxes by their pods (from the sandbox records seen before). */
export function formatRecord(r: DecodedRecord, label: SandboxLabel = asId): string {
  const proc = (p: ProcRef | undefined): string => formatProc(p, label)
  if (r.type === 'lost') return `${formatTime(r.t)} LOST     ${r.count} event(s)${r.source ? ` (${r.source})` : ''}`
  const t = formatTime(r.t)
  switch (r.kind) {
    case 'signal': {
      const to = r.to ? proc(r.to) : formatTarget(r.target) || '?'
      const verdict = r.sig === 0 ? 'check' : r.targetDead ? 'no effect, the target had already exited (a zombie)' : r.result ?? 'not sent'
      const err = r.ret !== undefined && r.ret < 0 ? ` ${r.errno ?? r.ret}` : ''
      return `${t} signal   ${r.signame} ${proc(r.from)} → ${to} via ${r.via}: ${verdict}${err}`
    }
    case 'deliver':
      return `${t} deliver  ${r.signame} to ${proc(r.proc)} → ${r.handler === 'handler' ? 'its handler' : r.handler === 'ignore' ? 'SIG_IGN' : 'default action'}${r.groupKillFor !== undefined ? `: the kernel ending the process for the fatal ${signalName(r.groupKillFor)} (no one sent SIGKILL)` : ''}`
    case 'exit':
      return `${t} exit     ${proc(r.proc)} ${r.signal !== undefined ? `killed by ${signalName(r.signal)}${r.core ? ' (core dumped)' : ''}` : `code ${r.code}`}${r.groupDead ? '' : ' (thread)'}`
    case 'reap':
      return `${t} reap     ${proc(r.reaper)} reaped ${proc(r.child)}: ${formatStatus(r.status)} (${r.syscall}${r.options?.length ? ` ${r.options.join('|')}` : ''}${reapSource(r)})`
    case 'fork':
      return `${t} ${r.thread ? 'thread' : 'fork  '}   ${proc(r.parent)} → ${proc(r.child)}`
    case 'exec':
      return `${t} exec     ${proc(r.proc)} ${r.filename}`
    case 'flood':
      return `${t} flood    ${r.count}× ${r.signame} ${proc(r.from)} → ${proc(r.to)} (${r.of === 'deliver' ? 'deliveries' : 'signals'} counted in the kernel since ${formatTime(r.sinceT)})`
    default:
      return `${t} ${(r as {kind: string}).kind}`
  }
}

/**
 * A record's line in a replay of several files: its time counted from the start of the earliest
 * file (`offsetNs` = this file's start − the earliest start), and its host after the time when
 * the files come from more than one host.
 */
export function formatMergedRecord(r: DecodedRecord, offsetNs: number, host?: string, label: SandboxLabel = asId): string {
  const line = formatRecord(offsetNs === 0 ? r : {...r, t: r.t + offsetNs}, label)
  if (host === undefined) return line
  const sp = line.indexOf(' ')
  return `${line.slice(0, sp)} ${host}${line.slice(sp)}`
}
