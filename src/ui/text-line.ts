// One plain-text line per record, for pipes, CI logs and `replay --text`: no escape codes,
// fixed column order, host PIDs first with the PID inside the namespace after a slash.
import type {ProcRef, ReapEvent, SignalTarget, WaitStatus} from '../events/types.js'
import type {DecodedRecord} from '../events/decoder.js'
import {signalName} from '../events/names.js'

/** The host PID, then the PID inside its namespace after a slash when they differ: 21401/1. */
export function formatPids(p: Pick<ProcRef, 'pid' | 'innerPid'>): string {
  return p.innerPid !== null && p.innerPid !== undefined && p.innerPid !== p.pid ? `${p.pid}/${p.innerPid}` : `${p.pid}`
}

export function formatProc(p: ProcRef | undefined): string {
  if (!p) return '?'
  const tid = p.tid !== undefined && p.tid !== p.pid ? ` tid ${p.tid}` : ''
  const where = p.sandbox ? ` @${p.sandbox}${p.role === 'pause' ? ' (pause)' : ''}` : ''
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

export function formatRecord(r: DecodedRecord): string {
  if (r.type === 'lost') return `${formatTime(r.t)} LOST     ${r.count} event(s)${r.source ? ` (${r.source})` : ''}`
  const t = formatTime(r.t)
  switch (r.kind) {
    case 'signal': {
      const to = r.to ? formatProc(r.to) : formatTarget(r.target) || '?'
      const verdict = r.sig === 0 ? 'check' : r.targetDead ? 'no effect, the target had already exited (a zombie)' : r.result ?? 'not sent'
      const err = r.ret !== undefined && r.ret < 0 ? ` ${r.errno ?? r.ret}` : ''
      return `${t} signal   ${r.signame} ${formatProc(r.from)} → ${to} via ${r.via}: ${verdict}${err}`
    }
    case 'deliver':
      return `${t} deliver  ${r.signame} to ${formatProc(r.proc)} → ${r.handler === 'handler' ? 'its handler' : r.handler === 'ignore' ? 'SIG_IGN' : 'default action'}${r.groupKillFor !== undefined ? `: the kernel ending the process for the fatal ${signalName(r.groupKillFor)} (no one sent SIGKILL)` : ''}`
    case 'exit':
      return `${t} exit     ${formatProc(r.proc)} ${r.signal !== undefined ? `killed by ${signalName(r.signal)}${r.core ? ' (core dumped)' : ''}` : `code ${r.code}`}${r.groupDead ? '' : ' (thread)'}`
    case 'reap':
      return `${t} reap     ${formatProc(r.reaper)} reaped ${formatProc(r.child)}: ${formatStatus(r.status)} (${r.syscall}${r.options?.length ? ` ${r.options.join('|')}` : ''}${reapSource(r)})`
    case 'fork':
      return `${t} ${r.thread ? 'thread' : 'fork  '}   ${formatProc(r.parent)} → ${formatProc(r.child)}`
    case 'exec':
      return `${t} exec     ${formatProc(r.proc)} ${r.filename}`
    case 'flood':
      return `${t} flood    ${r.count}× ${r.signame} ${formatProc(r.from)} → ${formatProc(r.to)} (${r.of === 'deliver' ? 'deliveries' : 'signals'} counted in the kernel since ${formatTime(r.sinceT)})`
    default:
      return `${t} ${(r as {kind: string}).kind}`
  }
}

/**
 * A record's line in a replay of several files: its time counted from the start of the earliest
 * file (`offsetNs` = this file's start − the earliest start), and its host after the time when
 * the files come from more than one host.
 */
export function formatMergedRecord(r: DecodedRecord, offsetNs: number, host?: string): string {
  const line = formatRecord(offsetNs === 0 ? r : {...r, t: r.t + offsetNs})
  if (host === undefined) return line
  const sp = line.indexOf(' ')
  return `${line.slice(0, sp)} ${host}${line.slice(sp)}`
}
