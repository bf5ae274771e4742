// `oom-kill`: a SIGKILL the kernel sent on its own (no syscall) to a process of a sandbox, that is
// not the teardown of a PID namespace (the SIGKILLs a dying PID 1 sends to the rest of its
// namespace come from that PID 1, whose exit was seen just before). What is left is the OOM
// killer, sending SIGKILL from the task that ran out of memory (often the victim itself), with
// si_code SI_KERNEL (a parent's death signal, PR_SET_PDEATHSIG, comes as SI_USER).
import type {SignalEvent, TraceEvent} from '../events/types.js'
import type {FindingContext, Rule} from './context.js'
import {at, place, who} from './words.js'

export class OomRule implements Rule {
  /** PID 1s of a namespace whose exit was seen (their SIGKILLs are the namespace's teardown) */
  private deadInits = new Set<number>()

  constructor(private readonly ctx: FindingContext) {}

  event(e: TraceEvent): void {
    if (e.kind === 'exit' && e.groupDead && e.proc.innerPid === 1) this.deadInits.add(e.proc.pid)
    else if (e.kind === 'reap') this.deadInits.delete(e.child.pid)
    else if (e.kind === 'signal' && e.via === 'kernel' && e.sig === 9 && e.to && e.to.sandbox !== null && !e.to.runtime && !e.targetDead && e.code === 'SI_KERNEL' && !this.deadInits.has(e.from.pid)) this.report(e)
  }

  private report(e: SignalEvent): void {
    const to = e.to as NonNullable<SignalEvent['to']>
    const where = place(this.ctx.sandbox(to.sandbox), to.sandbox as string, to.container)
    const from = e.from.pid === to.pid ? 'while it allocated memory' : `while ${who(e.from)} allocated memory`
    this.ctx.emit({
      kind: 'oom-kill', severity: 'problem', sandbox: to.sandbox, t: e.t, until: e.t,
      summary: `${where}: the kernel's OOM killer SIGKILLed ${who(to)} at ${at(e.t)} ${from}: the container (or the node) ran out of memory.`,
      evidence: [e],
      advice: `raise the container's memory limit to what it really uses, or find the leak; \`memory.events\` of its cgroup counts oom_kill`,
    })
  }
}
