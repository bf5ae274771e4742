// How the view names things: a process, a lane, a duration, an exit, the trace's filters. One
// place, so that the lane summaries, the chains and the header say them alike.
import type {ProcRef} from '../events/types.js'
import {signalName} from '../events/names.js'
import type {ExitItem, Lane} from '../model/timeline.js'
import {formatPids} from './text-line.js'

/**
 * One process as the view names it: comm[hostPID/innerPID]. Not text-line's formatProc: a lane
 * sits in its sandbox's block, so the `@sandbox` and thread id that a flat line needs are left
 * out, and a process no event has named yet (a pause known from its sandbox record) is `pid N/1`.
 */
export function procLabel(p: Pick<ProcRef, 'pid' | 'comm' | 'innerPid'>): string {
  return p.comm ? `${p.comm}[${formatPids(p)}]` : `pid ${formatPids(p)}`
}

/** A process in a chain's sentence: its label, and whether it is a host process or the pause. */
export function who(p: ProcRef): string {
  return `${procLabel(p)}${p.role === 'host' ? ' (host)' : p.role === 'pause' ? ' (pause)' : ''}`
}

/** A lane: its process, and its container where the runtime names it (`sleep[25309/1] main`). */
export function laneLabel(l: Lane): string {
  const label = procLabel(l.named ? l.proc : {pid: l.pid, comm: '', innerPid: l.proc.innerPid})
  return l.proc.container !== undefined && l.proc.role !== 'pause' ? `${label} ${l.proc.container}` : label
}

/** 0.3ms, 12.5ms, 3.9s, 2m05s */
export function duration(ns: number): string {
  if (ns < 1e9) return `${(ns / 1e6).toFixed(ns < 1e7 ? 2 : 1)}ms`
  if (ns < 60e9) return `${(ns / 1e9).toFixed(1)}s`
  const s = Math.floor(ns / 1e9)
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
}

export function exitText(x: ExitItem): string {
  const e = x.ev
  return e.signal !== undefined ? `killed by ${signalName(e.signal)}${e.core ? ' (core)' : ''}` : `exited ${e.code ?? '?'}`
}

/** The trace's filters as the flags that set them (the header's last field). */
export function filtersText(filters: Record<string, unknown> | undefined): string {
  if (!filters) return 'sandboxes'
  const parts: string[] = []
  const list = (k: string, flag: string): void => {
    const v = filters[k]
    if (Array.isArray(v)) for (const x of v) parts.push(`${flag} ${k === 'signals' ? signalName(Number(x)) : String(x)}`)
  }
  list('pods', '--pod')
  list('namespaces', '--namespace')
  list('sandboxes', '--sandbox')
  list('pids', '--pid')
  list('signals', '--signal')
  if (filters.all === true) parts.unshift('--all')
  return parts.length ? parts.join(' ') : 'all sandboxes'
}
