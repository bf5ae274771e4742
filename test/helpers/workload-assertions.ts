// The exact expectations for one run of test/e2e/workload/sigwork.c, checked against decoded
// records (from the decoder in unit tests, or from a trace file in end-to-end tests).
import assert from 'node:assert/strict'
import type {Manifest} from './workload.js'

type Rec = Record<string, any>

export function assertWorkloadTrace(records: Rec[], m: Manifest): void {
  const events = records.filter((r) => r.type === 'event')
  const lost = records.filter((r) => r.type === 'lost')
  assert.deepEqual(lost, [], 'no lost records')
  const X = m.pid
  const sig = (pred: (e: Rec) => boolean): Rec[] => events.filter((e) => e.kind === 'signal' && pred(e))
  const from = (e: Rec, pid: number): boolean => e.from?.pid === pid

  // 1: the flood of kill(self, SIGUSR1): every one accounted for.
  const usr1 = sig((e) => from(e, X) && e.sig === 10)
  const flood = events.filter((e) => e.kind === 'flood' && e.of === 'signal' && e.from.pid === X && e.to.pid === X && e.sig === 10)
  const flooded = flood.reduce((n, e) => n + e.count, 0)
  assert.equal(usr1.length + flooded, m.flood, `SIGUSR1 events (${usr1.length}) + flood counts (${flooded}) = the flood`)
  for (const e of usr1) {
    assert.equal(e.signame, 'SIGUSR1')
    assert.equal(e.via, 'kill')
    assert.equal(e.result, 'delivered')
    assert.equal(e.ret, 0)
    assert.equal(e.to.pid, X)
    assert.deepEqual(e.target, {pid: X})
    assert.equal(e.from.comm, 'sigwork')
  }
  const dUsr1 = events.filter((e) => e.kind === 'deliver' && e.proc.pid === X && e.sig === 10)
  const dFlood = events.filter((e) => e.kind === 'flood' && e.of === 'deliver' && e.to.pid === X && e.sig === 10).reduce((n, e) => n + e.count, 0)
  assert.equal(dUsr1.length + dFlood, m.flood, 'every SIGUSR1 delivery accounted for')
  assert.ok(dUsr1.every((e) => e.handler === 'handler'))

  // 5: kill(0, SIGURG) targets the process group; SIGURG's default action ignores it.
  const grp = sig((e) => from(e, X) && e.sig === 23)
  assert.deepEqual(grp.map((e) => [e.target, e.to.pid, e.result, e.signame]), [[{pgid: m.pgid}, X, 'ignored', 'SIGURG']])

  // 2: tgkill to the thread.
  const tg = sig((e) => from(e, X) && e.via === 'tgkill')
  assert.equal(tg.length, 1)
  assert.deepEqual(tg[0].target, {pid: X, tid: m.thread.tid})
  assert.equal(tg[0].sig, 12)
  assert.equal(tg[0].to.tid, m.thread.tid)
  assert.equal(tg[0].to.pid, X)
  assert.equal(tg[0].result, 'delivered')
  assert.equal(tg[0].code, 'SI_TKILL')
  assert.equal(events.filter((e) => e.kind === 'deliver' && e.proc.tid === m.thread.tid && e.sig === 12).length, 1)
  assert.equal(events.filter((e) => e.kind === 'fork' && e.parent.pid === X && e.thread && e.child.tid === m.thread.tid).length, 1)

  // 3: sigqueue of SIGRTMIN+3.
  const rt = sig((e) => from(e, X) && e.via === 'rt_sigqueueinfo')
  assert.equal(rt.length, 1)
  assert.equal(rt[0].sig, m.rt.sig)
  assert.equal(rt[0].signame, 'SIGRTMIN+3')
  assert.equal(rt[0].code, 'SI_QUEUE')
  assert.equal(rt[0].result, 'delivered')
  assert.deepEqual(rt[0].target, {pid: X})

  // 4: kill(self, 0) is a check; kill(nonexistent, SIGTERM) fails with ESRCH.
  const check = sig((e) => from(e, X) && e.sig === 0)
  assert.equal(check.length, 1)
  assert.equal(check[0].signame, '0')
  assert.equal(check[0].result, undefined)
  assert.equal(check[0].to, undefined)
  assert.equal(check[0].ret, 0)
  const esrch = sig((e) => from(e, X) && e.target?.pid === m.esrch.pid)
  assert.equal(esrch.length, 1)
  assert.equal(esrch[0].ret, -3)
  assert.equal(esrch[0].errno, 'ESRCH')
  assert.equal(esrch[0].to, undefined)

  // 6: forks with distinct exit codes, reaped by wait4 with a status pointer.
  for (const f of m.forks) {
    const ex = events.filter((e) => e.kind === 'exit' && e.proc.pid === f.pid)
    assert.equal(ex.length, 1, `one exit for fork ${f.pid}`)
    assert.equal(ex[0].code, f.code)
    assert.equal(ex[0].groupDead, true)
    assert.equal(ex[0].how, 'exit_group')
    const rp = events.filter((e) => e.kind === 'reap' && e.child.pid === f.pid)
    assert.equal(rp.length, 1, `one reap for fork ${f.pid}`)
    assert.equal(rp[0].reaper.pid, X)
    assert.equal(rp[0].syscall, 'wait4')
    assert.deepEqual(rp[0].options, [])
    assert.deepEqual(rp[0].status, {exited: f.code})
    assert.equal(rp[0].statusFrom, 'wait')
    assert.equal(events.filter((e) => e.kind === 'fork' && e.parent.pid === X && !e.thread && e.child.pid === f.pid).length, 1)
  }
  // SIGCHLD from each fork child to the workload: kernel-sent, ignored (default action).
  const chld = sig((e) => e.via === 'kernel' && e.sig === 17 && e.to.pid === X && m.forks.some((f) => f.pid === e.from.pid))
  assert.equal(chld.length, m.forks.length)
  assert.ok(chld.every((e) => e.result === 'ignored' && e.code === 'CLD_EXITED'))

  // 7: a SIGKILLed child.
  const k = m.sigkill.pid
  const kk = sig((e) => from(e, X) && e.to?.pid === k)
  assert.deepEqual(kk.map((e) => [e.signame, e.result]), [['SIGKILL', 'delivered']])
  assert.deepEqual(pick(events.find((e) => e.kind === 'exit' && e.proc.pid === k)), {signal: 9, core: false})
  assert.deepEqual(events.find((e) => e.kind === 'reap' && e.child.pid === k)?.status, {signaled: 9, core: false})

  // 8: pidfd_send_signal + waitid.
  const p = m.pidfd.pid
  const pf = sig((e) => from(e, X) && e.via === 'pidfd_send_signal')
  assert.equal(pf.length, 1)
  assert.deepEqual(pf[0].target, {pidfd: m.pidfd.fd, pid: p})
  assert.equal(pf[0].to.pid, p)
  assert.equal(pf[0].sig, 15)
  assert.equal(pf[0].result, 'delivered')
  const pr = events.filter((e) => e.kind === 'reap' && e.child.pid === p)
  assert.equal(pr.length, 1)
  assert.equal(pr[0].syscall, 'waitid')
  assert.deepEqual(pr[0].options, ['WEXITED'])
  assert.deepEqual(pr[0].status, {signaled: 15, core: false})

  // 9: SIGSTOP / SIGCONT seen by wait4 with WUNTRACED and WCONTINUED, then SIGKILL. The kernel
  // resumes a stopped task while preparing SIGCONT, then drops the signal itself as ignored by
  // default: signal_generate says "ignored".
  const s = m.stopcont.pid
  assert.deepEqual(sig((e) => from(e, X) && e.to?.pid === s).map((e) => [e.signame, e.result]), [['SIGSTOP', 'delivered'], ['SIGCONT', 'ignored'], ['SIGKILL', 'delivered']])
  assert.deepEqual(events.filter((e) => e.kind === 'reap' && e.child.pid === s).map((e) => [e.options, e.status]), [
    [['WUNTRACED'], {stopped: 19}],
    [['WCONTINUED'], {continued: true}],
    [[], {signaled: 9, core: false}],
  ])

  // 10: PID 1 of its own PID namespace ignores SIGTERM; SIGKILL lands; it reaped its child
  // with no status pointer, and wait4's namespaced return value is translated to the host PID.
  const n = m.nsinit
  const toInit = sig((e) => from(e, X) && e.to?.pid === n.pid)
  assert.deepEqual(toInit.map((e) => [e.signame, e.result, e.to.innerPid]), [['SIGTERM', 'ignored', 1], ['SIGKILL', 'delivered', 1]])
  assert.deepEqual(events.find((e) => e.kind === 'reap' && e.child.pid === n.pid)?.status, {signaled: 9, core: false})
  const g = n.grandchild
  const gx = events.filter((e) => e.kind === 'exit' && e.proc.pid === g.hostPid)
  assert.equal(gx.length, 1)
  assert.equal(gx[0].code, g.code)
  assert.equal(gx[0].proc.innerPid, g.innerPid)
  const gr = events.filter((e) => e.kind === 'reap' && e.child.pid === g.hostPid)
  assert.equal(gr.length, 1)
  assert.equal(gr[0].reaper.pid, n.pid)
  assert.equal(gr[0].reaper.innerPid, 1)
  assert.equal(gr[0].child.innerPid, g.innerPid)
  assert.deepEqual(gr[0].status, {exited: g.code})
  assert.equal(gr[0].statusFrom, 'exit')
  assert.deepEqual(gr[0].options, [])
  // Nothing the workload did is reported twice.
  assert.equal(events.filter((e) => e.kind === 'exit' && e.proc.pid === X && e.groupDead).length, 1)
}

function pick(e: Rec | undefined): Rec {
  return {signal: e?.signal, core: e?.core}
}
