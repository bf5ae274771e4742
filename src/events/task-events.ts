// The lines that need no join: a signal delivered (D), an exit (E), a fork (F) and an exec (X)
// → their events, each one line in, one event out, keeping the process table up to date.
import type {EventTime} from './event-time.js'
import type {ProcessTable} from './process-table.js'
import {signalName} from './names.js'
import type {RawLine} from './raw.js'
import type {DeliverEvent, ExecEvent, ExitEvent, ForkEvent} from './types.js'

const HANDLER = ['default', 'ignore', 'handler'] as const

export function deliverEvent(t: number, d: RawLine & {tag: 'D'}, processes: ProcessTable, time: EventTime): DeliverEvent {
  const p = processes.update(d.actor, d.comm)
  const ev: DeliverEvent = {type: 'event', kind: 'deliver', t, ts: time.iso(t), proc: processes.procRef(p), sig: d.sig, signame: signalName(d.sig), handler: HANDLER[d.handler] ?? 'handler'}
  // A fatal signal taken by its default action is carried out as a SIGKILL to every thread of
  // the process, with no signal_generate of SIGKILL: name the signal that did it.
  const fatal = processes.groupKillFor(p.pid, d.sig, ev.handler === 'default')
  if (fatal !== undefined) ev.groupKillFor = fatal
  return ev
}

/** exit_code: the task's, as wait4 would report it; a group-dead exit keeps it for the reap. */
export function exitEvent(t: number, e: RawLine & {tag: 'E'}, processes: ProcessTable, time: EventTime): ExitEvent {
  const p = processes.update(e.actor, e.comm)
  const x = e.exitCode
  const ev: ExitEvent = {type: 'event', kind: 'exit', t, ts: time.iso(t), proc: processes.procRef(p), groupDead: e.groupDead}
  if (x & 0x7f) {
    ev.signal = x & 0x7f
    ev.core = (x & 0x80) !== 0
  } else ev.code = (x >> 8) & 0xff
  if (e.how === 1) ev.how = 'exit'
  else if (e.how === 2) ev.how = 'exit_group'
  if (e.groupDead) processes.exited(e.actor.pid, x)
  return ev
}

export function forkEvent(t: number, f: RawLine & {tag: 'F'}, processes: ProcessTable, time: EventTime): ForkEvent {
  const parent = processes.update(f.actor, f.comm)
  const child = processes.forked(parent, f.childTid, f.thread)
  return {type: 'event', kind: 'fork', t, ts: time.iso(t), parent: processes.procRef(parent), child: processes.procRef(child), thread: f.thread}
}

export function execEvent(t: number, x: RawLine & {tag: 'X'}, processes: ProcessTable, time: EventTime): ExecEvent {
  // comm after exec: the file's base name, cut to TASK_COMM_LEN - 1 bytes as the kernel does;
  // with no file name (it could not be read), what the live system said when the line was read
  const comm = x.filename ? Buffer.from(x.filename.slice(x.filename.lastIndexOf('/') + 1)).subarray(0, 15).toString() : (x.comm ?? '')
  const p = processes.update(x.actor, comm, false)
  return {type: 'event', kind: 'exec', t, ts: time.iso(t), proc: processes.procRef(p), filename: x.filename}
}
