// The lab's exercises: each builds sandboxes, acts on them step by step, and says, as exact
// patterns over trace events, what the kernel (and the runtime) should do in return.
import type {Pattern} from './expect.js'
import {CRI_LAB_NAMESPACE, KUBELET_GRACE_SECONDS, type LabContainer, type LabRuntime, type LabSandbox, type Resynced, type RuntimeName} from './runtime.js'
import type {SandboxRecord} from '../events/types.js'
import {caughtSignals, childrenOf} from '../proc/read.js'
import {AbortedError, catches, comm, innerPid, nsOf, procStat, zombiesOf} from './procs.js'

export interface LabContext {
  runtime: LabRuntime
  signal: AbortSignal
  /** a numbered step: its body acts and states expectations; then the step waits for them and shows its trace */
  step(title: string, body: () => Promise<void>): Promise<void>
  say(text: string): void
  sandbox(name: string, opts: {sharePid: boolean}): Promise<LabSandbox>
  container(sb: LabSandbox, name: string, cmd: string[]): Promise<LabContainer>
  /** an event that must be in the trace, from the start of this step on */
  expect(text: string, pattern: Pattern): void
  /** an event that must not be in the trace from the start of this step on (`thisStep`: until its end only) */
  expectNone(text: string, pattern: Pattern, opts?: {thisStep?: boolean}): void
  /** the runtime's kubelet, where it has one: dead sandboxes run again (attempt + 1), each shown as made */
  resync(): Promise<Resynced[]>
  /** the last sandbox record the trace gave for this id */
  sandboxRecord(id: string): SandboxRecord | undefined
  /** a fact read from /proc once the step's events were seen */
  fact(text: string, read: () => {ok: boolean; detail?: string}): void
  /** `kill -s SIG PID` run as a process of its own (the sender the trace shows); resolves to its PID */
  kill(pid: number, sig: string): Promise<number>
  /** a process the exercise came across (a zombie, a worker), checked gone at cleanup */
  track(pid: number, what: string): void
  waitFor(cond: () => boolean, ms: number, what: string): Promise<void>
  sleep(ms: number): Promise<void>
}

export interface Exercise {
  id: string
  title: string
  runtimes: readonly RuntimeName[]
  /** what it shows and why it matters, one paragraph */
  summary: string
  run(ctx: LabContext): Promise<void>
}

/** The infra process as a trace event names it. */
export function pauseRef(sb: LabSandbox): Pattern {
  return {pid: sb.pausePid, innerPid: 1, comm: sb.pauseComm, role: 'pause', sandbox: sb.sandboxId}
}

function sender(pid: number): Pattern {
  return {pid, comm: 'kill', role: 'host', sandbox: null}
}

const SIG = {HUP: 1, INT: 2, KILL: 9, TERM: 15, CHLD: 17, CONT: 18, STOP: 19} as const

function handlersOf(pid: number): string {
  const names: Array<[number, string]> = [[1, 'HUP'], [2, 'INT'], [3, 'QUIT'], [10, 'USR1'], [15, 'TERM'], [17, 'CHLD']]
  const caught = names.filter(([n]) => catches(pid, n)).map(([, s]) => s)
  return `SigCgt ${caughtSignals(pid).toString(16).padStart(16, '0')}: ${caught.length ? caught.join(', ') : 'none'}`
}

// An orphan maker: the subshell starts a child and exits at once, so the child is re-parented to
// the init of its PID namespace, and exits `code` a moment later. The container's own process
// then becomes `tail` (its output goes nowhere, so nothing holds the container's stdout).
function orphaner(code: number, tail: string): string[] {
  return ['sh', '-c', `(sh -c "sleep 0.5; exit ${code}" >/dev/null 2>&1 &); ${tail}`]
}

const pauseAnatomy: Exercise = {
  id: 'pause-anatomy',
  title: 'What pause does: SIGTERM and SIGINT end it through its handlers; SIGCHLD makes it reap',
  runtimes: ['namespaces', 'cri'],
  summary:
    "Kubernetes' pause installs exactly three handlers: SIGINT and SIGTERM call exit(0), SIGCHLD reaps with waitpid(-1, NULL, WNOHANG) until nothing is left. Every other signal keeps its default action, and the kernel drops a default-action signal sent to the PID 1 of a namespace: from inside the namespace all of them, SIGKILL and SIGSTOP included; from the host all but SIGKILL and SIGSTOP, which are forced. The lab's own pause (src/lab/pause.c) does the same; this exercise shows each handler at work in the trace.",
  async run(ctx) {
    let a!: LabSandbox
    let b!: LabSandbox
    let ctr!: LabContainer
    await ctx.step('Build two sandboxes: new PID, net, IPC and UTS namespaces, with pause as their PID 1', async () => {
      a = await ctx.sandbox('anatomy', {sharePid: true})
      // Made now, while the first one lives: a namespace made after another died may get its inode.
      b = await ctx.sandbox('anatomy-int', {sharePid: true})
      ctx.expect('pause is exec\'d as PID 1 of the sandbox', {kind: 'exec', proc: pauseRef(a)})
      ctx.fact('pause is PID 1 of its PID namespace', () => ({ok: innerPid(a.pausePid) === 1, detail: `NSpid ends in ${innerPid(a.pausePid)}`}))
      ctx.fact('pause catches SIGINT, SIGTERM and SIGCHLD, and nothing else', () => ({ok: caughtSignals(a.pausePid) === ((1n << 1n) | (1n << 14n) | (1n << 16n)), detail: handlersOf(a.pausePid)}))
    })
    await ctx.step('A container in the pause\'s PID namespace leaves an orphan behind: the kernel re-parents it to PID 1, pause', async () => {
      ctr = await ctx.container(a, 'orphaner', orphaner(7, 'exec sleep 1000'))
      ctx.expect('the orphan exits with code 7', {kind: 'exit', code: 7, proc: {comm: 'sh', role: 'container', sandbox: a.sandboxId}})
      ctx.expect('the kernel sends SIGCHLD to pause, its new parent', {kind: 'signal', signame: 'SIGCHLD', via: 'kernel', code: 'CLD_EXITED', from: {comm: 'sh', sandbox: a.sandboxId}, to: pauseRef(a), result: 'delivered'})
      ctx.expect("pause's SIGCHLD handler runs", {kind: 'deliver', proc: pauseRef(a), signame: 'SIGCHLD', handler: 'handler'})
      ctx.expect('pause reaps it with wait4(-1, NULL, WNOHANG): no status pointer, so the status comes from the exit', {
        kind: 'reap', reaper: pauseRef(a), child: {comm: 'sh', role: 'container', sandbox: a.sandboxId}, syscall: 'wait4', options: ['WNOHANG'], status: {exited: 7}, statusFrom: 'exit',
      })
      ctx.fact('no zombie is left under pause', () => ({ok: zombiesOf(a.pausePid).length === 0, detail: `zombies of PID ${a.pausePid}: ${zombiesOf(a.pausePid).length}`}))
    })
    await ctx.step('SIGHUP from the host: pause has no handler for it, so the kernel drops it (a PID 1 gets only the signals it handles, and from the host SIGKILL and SIGSTOP)', async () => {
      const from = await ctx.kill(a.pausePid, 'HUP')
      ctx.expect('SIGHUP to pause is ignored by the kernel', {kind: 'signal', sig: SIG.HUP, via: 'kill', from: sender(from), target: {pid: a.pausePid}, to: pauseRef(a), result: 'ignored'})
      ctx.expectNone('SIGHUP is never delivered to pause', {kind: 'deliver', proc: {pid: a.pausePid}, sig: SIG.HUP})
      ctx.fact('pause is still running', () => ({ok: procStat(a.pausePid)?.state === 'S' && comm(a.pausePid) === 'pause'}))
    })
    await ctx.step('SIGTERM from the host (what the runtime sends to stop a sandbox): the handler runs, pause exits 0, and the kernel kills the rest of its PID namespace', async () => {
      const from = await ctx.kill(a.pausePid, 'TERM')
      ctx.expect('SIGTERM to pause is delivered', {kind: 'signal', sig: SIG.TERM, via: 'kill', from: sender(from), to: pauseRef(a), result: 'delivered'})
      ctx.expect("pause's SIGTERM handler runs", {kind: 'deliver', proc: pauseRef(a), sig: SIG.TERM, handler: 'handler'})
      ctx.expect('pause exits with code 0', {kind: 'exit', proc: pauseRef(a), code: 0, groupDead: true})
      ctx.expect('the kernel SIGKILLs the container left in the PID namespace', {kind: 'signal', sig: SIG.KILL, via: 'kernel', from: {pid: a.pausePid}, to: {pid: ctr.pid, sandbox: a.sandboxId}, result: 'delivered'})
      ctx.expect(`${a.parentComm}, which started pause, reaps it: exited 0`, {kind: 'reap', reaper: {pid: a.parentPid}, child: {pid: a.pausePid}, status: {exited: 0}})
    })
    await ctx.step('SIGINT, the other signal pause exits on, to the second sandbox', async () => {
      const from = await ctx.kill(b.pausePid, 'INT')
      ctx.expect('SIGINT to pause is delivered', {kind: 'signal', sig: SIG.INT, via: 'kill', from: sender(from), to: pauseRef(b), result: 'delivered'})
      ctx.expect("pause's SIGINT handler runs", {kind: 'deliver', proc: pauseRef(b), sig: SIG.INT, handler: 'handler'})
      ctx.expect('pause exits with code 0', {kind: 'exit', proc: pauseRef(b), code: 0, groupDead: true})
      ctx.expect(`${b.parentComm} reaps it: exited 0`, {kind: 'reap', reaper: {pid: b.parentPid}, child: {pid: b.pausePid}, status: {exited: 0}})
    })
  },
}

const sharedPid: Exercise = {
  id: 'shared-pid',
  title: 'shareProcessNamespace true vs false: who is PID 1, who reaps orphans',
  runtimes: ['namespaces', 'podman', 'cri'],
  summary:
    "With shareProcessNamespace: true every container joins the infra process's PID namespace: the infra process is their PID 1, it adopts their orphans and must reap them, and `kill 1` in a container signals it. With false, each container is PID 1 of a namespace of its own: its first process adopts its orphans, and the infra process never hears of them.",
  async run(ctx) {
    let t!: LabSandbox
    let f!: LabSandbox
    let ct!: LabContainer
    let cf!: LabContainer
    await ctx.step('Build two sandboxes: "shared" (shareProcessNamespace: true) and "own" (false)', async () => {
      t = await ctx.sandbox('shared', {sharePid: true})
      f = await ctx.sandbox('own', {sharePid: false})
    })
    await ctx.step("In each, a container whose shell leaves an orphan behind and keeps waiting for a `sleep` in the foreground", async () => {
      ct = await ctx.container(t, 'shared-app', orphaner(3, 'sleep 1000; exit 0'))
      cf = await ctx.container(f, 'own-app', orphaner(3, 'sleep 1000; exit 0'))
      ctx.fact(`"shared": the container's shell is not PID 1; ${t.pauseComm} is`, () => ({ok: nsOf(ct.pid, 'pid') === t.ns.pid && innerPid(ct.pid) !== 1, detail: `sh is PID ${innerPid(ct.pid)} in ${t.pauseComm}'s namespace`}))
      ctx.fact('"own": the container\'s shell is PID 1 of a PID namespace of its own', () => ({ok: nsOf(cf.pid, 'pid') !== f.ns.pid && innerPid(cf.pid) === 1, detail: `sh is PID ${innerPid(cf.pid)}`}))
      ctx.expect(`"shared": ${t.pauseComm}, PID 1 of the pod, reaps the orphan (exit code 3)`, {kind: 'reap', reaper: pauseRef(t), child: {comm: 'sh', role: 'container', sandbox: t.sandboxId}, status: {exited: 3}})
      ctx.expect('"own": the container\'s shell, its PID 1, reaps the orphan', {kind: 'reap', reaper: {pid: cf.pid, innerPid: 1, comm: 'sh', role: 'container', sandbox: f.sandboxId}, child: {comm: 'sh', sandbox: f.sandboxId}, syscall: 'wait4', status: {exited: 3}})
      ctx.expectNone(`"own": ${f.pauseComm} reaps nothing: no orphan can reach it`, {kind: 'reap', reaper: {pid: f.pausePid}})
    })
    await ctx.step('`kill -HUP 1` inside each container: PID 1 is someone else in each pod', async () => {
      await ctx.runtime.execIn(ct, ['sh', '-c', 'kill -HUP 1'])
      await ctx.runtime.execIn(cf, ['sh', '-c', 'kill -HUP 1'])
      if (t.pauseComm === 'catatonit') {
        // catatonit blocks every signal and reads them from a signalfd: a blocked signal is never dropped.
        ctx.expect('"shared": it reaches catatonit, which blocks every signal and reads them from a signalfd: delivered', {kind: 'signal', sig: SIG.HUP, via: 'kill', target: {pid: 1}, from: {comm: 'sh', sandbox: t.sandboxId}, to: pauseRef(t), result: 'delivered'})
        ctx.expectNone('no handler runs in catatonit (signal_deliver never fires for a signalfd)', {kind: 'deliver', proc: {pid: t.pausePid}, sig: SIG.HUP})
      } else ctx.expect(`"shared": it reaches ${t.pauseComm}, which has no SIGHUP handler: ignored`, {kind: 'signal', sig: SIG.HUP, via: 'kill', target: {pid: 1}, from: {comm: 'sh', sandbox: t.sandboxId}, to: pauseRef(t), result: 'ignored'})
      ctx.expect('"own": it reaches the container\'s own shell, PID 1 without a SIGHUP handler: ignored', {kind: 'signal', sig: SIG.HUP, via: 'kill', target: {pid: 1}, from: {comm: 'sh', sandbox: f.sandboxId}, to: {pid: cf.pid, innerPid: 1, comm: 'sh', role: 'container'}, result: 'ignored'})
    })
  },
}

const pid1IgnoresSigterm: Exercise = {
  id: 'pid1-ignores-sigterm',
  title: 'A PID 1 with no SIGTERM handler drops SIGTERM, from the host and from inside; SIGKILL still lands',
  runtimes: ['namespaces', 'podman', 'cri'],
  summary:
    "The kernel drops a signal sent to the PID 1 of a namespace when PID 1 has no handler for it (its action is the default): from inside the namespace every such signal, stop signals and SIGKILL included; from an ancestor namespace (the host) every one but SIGKILL and SIGSTOP, which are forced. So a container whose first process is a plain program (no init, no handler) ignores the SIGTERM of `kubectl delete`, and the pod waits out its whole grace period until the SIGKILL.",
  async run(ctx) {
    let s!: LabSandbox
    let app!: LabContainer
    const appRef = (): Pattern => ({pid: app.pid, innerPid: 1, comm: 'sleep', role: 'container', sandbox: s.sandboxId})
    await ctx.step('Build a sandbox whose container runs `sleep` as PID 1 of its own namespace (shareProcessNamespace: false)', async () => {
      s = await ctx.sandbox('grace', {sharePid: false})
      app = await ctx.container(s, 'app', ['sleep', '1000'])
      ctx.fact('sleep is PID 1 of its namespace and has no SIGTERM handler', () => ({ok: innerPid(app.pid) === 1 && !catches(app.pid, SIG.TERM), detail: handlersOf(app.pid)}))
    })
    await ctx.step('SIGTERM from the host, as the runtime sends it on `kubectl delete`', async () => {
      const from = await ctx.kill(app.pid, 'TERM')
      ctx.expect('the kernel drops it: result "ignored"', {kind: 'signal', sig: SIG.TERM, via: 'kill', from: sender(from), target: {pid: app.pid}, to: appRef(), result: 'ignored'})
      ctx.fact('sleep is still running', () => ({ok: procStat(app.pid)?.state === 'S'}))
    })
    await ctx.step('SIGTERM from inside the container: `kill -TERM 1`', async () => {
      await ctx.runtime.execIn(app, ['sh', '-c', 'kill -TERM 1'])
      ctx.expect('dropped as well: result "ignored"', {kind: 'signal', sig: SIG.TERM, via: 'kill', target: {pid: 1}, from: {comm: 'sh', role: 'container', sandbox: s.sandboxId}, to: appRef(), result: 'ignored'})
      ctx.expectNone('SIGTERM is never delivered to sleep', {kind: 'deliver', proc: {pid: app.pid}, sig: SIG.TERM})
      ctx.fact('sleep is still running', () => ({ok: procStat(app.pid)?.state === 'S'}))
    })
    await ctx.step('The grace period is over: SIGKILL from the host, which the kernel forces even on a PID 1', async () => {
      const from = await ctx.kill(app.pid, 'KILL')
      ctx.expect('SIGKILL is delivered', {kind: 'signal', sig: SIG.KILL, via: 'kill', from: sender(from), to: appRef(), result: 'delivered'})
      ctx.expect('sleep dies of SIGKILL', {kind: 'exit', proc: appRef(), signal: SIG.KILL, groupDead: true})
      ctx.expect(`its parent ${app.parentComm} reaps it: killed by SIGKILL`, {kind: 'reap', reaper: {pid: app.parentPid}, child: {pid: app.pid}, status: {signaled: SIG.KILL, core: false}})
    })
  },
}

const zombies: Exercise = {
  id: 'zombies',
  title: 'A PID 1 that never reaps keeps zombies; pause as PID 1 reaps the same',
  runtimes: ['namespaces', 'podman', 'cri'],
  summary:
    "An orphan is re-parented to the init of its PID namespace, which must wait() for it, or it stays a zombie. A container whose PID 1 is a program that never waits (here `sleep`) collects zombies; in a pod with shareProcessNamespace: true the orphan goes to the infra process instead, which reaps it.",
  async run(ctx) {
    let n!: LabSandbox
    let keeper!: LabContainer
    await ctx.step('Sandbox "no-reaper": the container\'s PID 1 becomes `sleep` (it never waits) right after leaving an orphan behind', async () => {
      n = await ctx.sandbox('no-reaper', {sharePid: false})
      keeper = await ctx.container(n, 'keeper', orphaner(4, 'exec sleep 1000'))
      const sleepRef = {pid: keeper.pid, innerPid: 1, comm: 'sleep', role: 'container', sandbox: n.sandboxId}
      ctx.expect('the orphan exits with code 4', {kind: 'exit', code: 4, proc: {comm: 'sh', role: 'container', sandbox: n.sandboxId}})
      ctx.expect("the kernel's SIGCHLD to sleep, its new parent, is ignored (SIGCHLD's default action)", {kind: 'signal', signame: 'SIGCHLD', via: 'kernel', code: 'CLD_EXITED', to: sleepRef, result: 'ignored'})
      ctx.expectNone('sleep, PID 1, never reaps the orphan', {kind: 'reap', reaper: {pid: keeper.pid}, status: {exited: 4}})
      ctx.fact('the orphan is a zombie under sleep (PID 1)', () => {
        const z = zombiesOf(keeper.pid)
        for (const pid of z) ctx.track(pid, 'zombie under sleep')
        return {ok: z.length === 1 && comm(z[0]) === 'sh', detail: z.length ? `zombie PID ${z.join(', ')} (${z.map((p) => comm(p)).join(', ')})` : 'no zombie'}
      })
    })
    await ctx.step('Sandbox "pause-reaps": the same container in a pod that shares its PID namespace, so the orphan goes to PID 1, the infra process', async () => {
      const p = await ctx.sandbox('pause-reaps', {sharePid: true})
      const c = await ctx.container(p, 'same', orphaner(4, 'exec sleep 1000'))
      ctx.expect('the orphan exits with code 4', {kind: 'exit', code: 4, proc: {comm: 'sh', role: 'container', sandbox: p.sandboxId}})
      ctx.expect(`SIGCHLD goes to ${p.pauseComm}`, {kind: 'signal', signame: 'SIGCHLD', via: 'kernel', code: 'CLD_EXITED', to: pauseRef(p), result: 'delivered'})
      ctx.expect(`${p.pauseComm} reaps it`, {kind: 'reap', reaper: pauseRef(p), child: {comm: 'sh', sandbox: p.sandboxId}, status: {exited: 4}})
      ctx.expectNone('the container\'s own process does not reap it', {kind: 'reap', reaper: {pid: c.pid}, status: {exited: 4}})
      ctx.fact('no zombie is left in the pod', () => ({ok: zombiesOf(p.pausePid).length === 0 && zombiesOf(c.pid).length === 0}))
    })
  },
}

/**
 * Waits (at most 20 s: the trace asks the CRI socket in the background, every 2 s) until the
 * trace's sandbox records name these sandboxes as their pods with this attempt; a fact each says
 * whether it did.
 */
async function untilNamed(ctx: LabContext, sbs: LabSandbox[], attempt: number, more: (id: string) => boolean = () => true): Promise<void> {
  const named = (sb: LabSandbox): boolean => {
    const rec = ctx.sandboxRecord(sb.sandboxId)
    return rec?.runtime === 'containerd' && rec.pod?.name === sb.name && rec.pod.namespace === CRI_LAB_NAMESPACE && rec.pod.attempt === attempt
  }
  await ctx.waitFor(() => sbs.every((sb) => named(sb) && more(sb.sandboxId)), 20_000, 'the trace to name the pods').catch((err: unknown) => {
    if (err instanceof AbortedError) throw err
    // not named in time: the facts below say so
  })
  if (attempt === 0) {
    for (const sb of sbs) {
      ctx.fact(`the trace names "${sb.name}" ${CRI_LAB_NAMESPACE}/${sb.name} attempt 0, from the CRI socket`, () => {
        const rec = ctx.sandboxRecord(sb.sandboxId)
        return {ok: named(sb) && rec?.replaces === null, detail: rec ? JSON.stringify({id: rec.id, runtime: rec.runtime, pod: rec.pod, replaces: rec.replaces}) : `no sandbox record for ${sb.sandboxId}`}
      })
    }
  }
}

const killPause: Exercise = {
  id: 'kill-pause',
  title: 'What happens to the sandbox when pause dies',
  runtimes: ['namespaces', 'podman', 'cri'],
  summary:
    "The infra process holds the sandbox's namespaces. When it dies in a pod that shares its PID namespace, the kernel SIGKILLs every other process of that namespace: the whole pod goes at once. When each container has its own PID namespace, the containers live on in the dead sandbox's network namespace, and nothing on this machine notices; on Kubernetes the kubelet sees the sandbox die (SandboxChanged), kills the containers and starts a new sandbox with a new pause (vagrant/README.md walks through it). The cri runtime plays that kubelet: its sync loop finds both sandboxes NOTREADY, stops the container that lived on (the runtime's SIGTERM, then SIGKILL after the grace period), runs each pod again with attempt 1 and starts its container again.",
  async run(ctx) {
    let s!: LabSandbox
    let o!: LabSandbox
    let cs!: LabContainer
    let co!: LabContainer
    const kubelet = ctx.runtime.resync !== undefined
    await ctx.step('Build two sandboxes with one `sleep` container each: "shared" (shareProcessNamespace: true) and "own" (false)', async () => {
      s = await ctx.sandbox('shared', {sharePid: true})
      cs = await ctx.container(s, 'shared-app', ['sleep', '1000'])
      o = await ctx.sandbox('own', {sharePid: false})
      co = await ctx.container(o, 'own-app', ['sleep', '1000'])
      // A sandbox re-created later names the one it replaces only if the trace knew the first by its
      // pod (UID and attempt): on a node a pod lives long before its pause dies; here, wait for it.
      if (kubelet) await untilNamed(ctx, [s, o], 0)
    })
    await ctx.step(`Kill the infra process of "shared" with SIGTERM`, async () => {
      const from = await ctx.kill(s.pausePid, 'TERM')
      ctx.expect(`SIGTERM to ${s.pauseComm} is delivered (it handles it)`, {kind: 'signal', sig: SIG.TERM, via: 'kill', from: sender(from), to: pauseRef(s), result: 'delivered'})
      ctx.expect(`${s.pauseComm} exits with code 0`, {kind: 'exit', proc: pauseRef(s), code: 0, groupDead: true})
      ctx.expect("the kernel SIGKILLs the container's sleep: PID 1 of its namespace is gone", {kind: 'signal', sig: SIG.KILL, via: 'kernel', from: {pid: s.pausePid}, to: {pid: cs.pid, comm: 'sleep', role: 'container', sandbox: s.sandboxId}, result: 'delivered'})
      ctx.expect('sleep dies of SIGKILL', {kind: 'exit', proc: {pid: cs.pid}, signal: SIG.KILL})
      ctx.expect(`${s.parentComm} reaps the infra process: exited 0`, {kind: 'reap', reaper: {pid: s.parentPid}, child: {pid: s.pausePid}, status: {exited: 0}})
      ctx.fact('nothing is left of the pod\'s processes', () => ({ok: procStat(cs.pid) === undefined && procStat(s.pausePid) === undefined}))
    })
    await ctx.step(`Kill the infra process of "own" with SIGTERM`, async () => {
      await ctx.kill(o.pausePid, 'TERM')
      ctx.expect(`${o.pauseComm} exits with code 0`, {kind: 'exit', proc: pauseRef(o), code: 0, groupDead: true})
      ctx.expect(`${o.parentComm} reaps it: exited 0`, {kind: 'reap', reaper: {pid: o.parentPid}, child: {pid: o.pausePid}, status: {exited: 0}})
      // with a kubelet (cri), the next step stops this container: until then, nothing signals it
      ctx.expectNone('the container gets no signal at all', {kind: 'signal', to: {pid: co.pid}}, {thisStep: kubelet})
      ctx.fact("the container's sleep lives on, in the sandbox's network namespace", () => ({ok: procStat(co.pid)?.state === 'S' && nsOf(co.pid, 'net') === o.ns.net, detail: `sleep[${co.pid}] in net:[${nsOf(co.pid, 'net')}]`}))
      if (!kubelet) ctx.say('Nothing here re-creates the sandbox. On Kubernetes the kubelet would now report SandboxChanged, kill this container and start a new pause: see vagrant/README.md.')
    })
    if (kubelet) await ctx.step("The kubelet's sync loop: PodSandboxStatus says NOTREADY for both pods; each is stopped, run again with attempt 1, and its container started again", async () => {
      const redone = await ctx.resync()
      const s2 = redone.find((r) => r.old === s)
      const o2 = redone.find((r) => r.old === o)
      if (!s2 || !o2 || s2.containers.length !== 1 || o2.containers.length !== 1) throw new Error(`the kubelet re-created ${redone.map((r) => `${r.old.name} (${r.containers.length} container(s))`).join(', ') || 'nothing'}, not both pods with their container`)
      const coRef: Pattern = {pid: co.pid, innerPid: 1, comm: 'sleep', role: 'container', sandbox: o.sandboxId}
      ctx.expect('"own": the runtime stops the container that lived on: SIGTERM from runc, dropped (sleep is PID 1 without a handler)', {kind: 'signal', sig: SIG.TERM, via: 'kill', from: {comm: 'runc'}, to: coRef, result: 'ignored'})
      ctx.expect(`after the ${KUBELET_GRACE_SECONDS} s grace period, SIGKILL from runc`, {kind: 'signal', sig: SIG.KILL, via: 'kill', from: {comm: 'runc'}, to: coRef, result: 'delivered'})
      ctx.expect(`${co.parentComm} reaps it: killed by SIGKILL`, {kind: 'reap', reaper: {pid: co.parentPid}, child: {pid: co.pid}, status: {signaled: SIG.KILL, core: false}})
      for (const r of [s2, o2]) {
        const sb = r.sandbox
        ctx.expect(`"${sb.name}", attempt ${r.attempt}: a new pause is exec'd as PID 1 of a new sandbox`, {kind: 'exec', proc: pauseRef(sb)})
        ctx.expect(`"${sb.name}", attempt ${r.attempt}: its container's sleep is exec'd again, in the new sandbox`, {kind: 'exec', proc: {pid: r.containers[0].pid, comm: 'sleep', role: 'container', sandbox: sb.sandboxId}})
        ctx.fact(`the trace names "${sb.name}" ${CRI_LAB_NAMESPACE}/${sb.name} attempt ${r.attempt}, replacing ${r.old.sandboxId}`, () => {
          const rec = ctx.sandboxRecord(sb.sandboxId)
          const ok = rec?.runtime === 'containerd' && rec.pod?.name === sb.name && rec.pod.namespace === CRI_LAB_NAMESPACE && rec.pod.attempt === r.attempt && rec.replaces === r.old.sandboxId && rec.pausePid === sb.pausePid
          return {ok, detail: rec ? JSON.stringify({id: rec.id, runtime: rec.runtime, pod: rec.pod, pausePid: rec.pausePid, replaces: rec.replaces}) : `no sandbox record for ${sb.sandboxId}`}
        })
      }
      await untilNamed(ctx, [s2.sandbox, o2.sandbox], 1, (id) => ctx.sandboxRecord(id)?.replaces !== null)
    })
  },
}

const stopContinue: Exercise = {
  id: 'stop-continue',
  title: 'SIGSTOP and SIGCONT, seen through waitpid with WUNTRACED|WCONTINUED',
  runtimes: ['namespaces', 'podman', 'cri'],
  summary:
    "A stopped or continued child is reported to its parent only if the parent asks: wait4 with WUNTRACED (stops) and WCONTINUED (continues), as job-control shells do. pause asks for neither (and sets SA_NOCLDSTOP), nor do the runtimes' reapers. Here a supervisor (labkit, a small static helper) waits for its worker with both flags.",
  async run(ctx) {
    let s!: LabSandbox
    let sup!: LabContainer
    let worker = 0
    const workerRef = (): Pattern => ({pid: worker, comm: 'worker', role: 'container', sandbox: s.sandboxId})
    const supRef = (): Pattern => ({pid: sup.pid, comm: 'supervisor', role: 'container', sandbox: s.sandboxId})
    await ctx.step('Build a sandbox (shared PID namespace) whose container is a supervisor with one worker', async () => {
      s = await ctx.sandbox('jobs', {sharePid: true})
      sup = await ctx.container(s, 'supervisor', ['labkit', 'supervise'])
      await ctx.waitFor(() => {
        worker = childrenOf(sup.pid).find((c) => comm(c) === 'worker') ?? 0
        return worker > 0
      }, 10_000, 'the worker to start')
      ctx.track(worker, 'worker')
      ctx.say(`supervisor[${sup.pid}] waits for worker[${worker}] with wait4(worker, &status, WUNTRACED|WCONTINUED, NULL).`)
      ctx.expectNone(`${s.pauseComm} is never sent SIGCHLD: the worker is not its child`, {kind: 'signal', signame: 'SIGCHLD', to: {pid: s.pausePid}})
    })
    await ctx.step('Stop the worker: SIGSTOP from the host', async () => {
      const from = await ctx.kill(worker, 'STOP')
      ctx.expect('SIGSTOP is delivered to the worker', {kind: 'signal', sig: SIG.STOP, via: 'kill', from: sender(from), to: workerRef(), result: 'delivered'})
      ctx.expect("the kernel sends the supervisor SIGCHLD (CLD_STOPPED); SIGCHLD's default action is to ignore it, yet wait4 wakes up", {kind: 'signal', signame: 'SIGCHLD', via: 'kernel', code: 'CLD_STOPPED', from: {pid: worker}, to: supRef(), result: 'ignored'})
      ctx.expect("the supervisor's wait4 reports it: stopped by SIGSTOP", {kind: 'reap', reaper: supRef(), child: workerRef(), syscall: 'wait4', options: ['WUNTRACED', 'WCONTINUED'], status: {stopped: SIG.STOP}, statusFrom: 'wait'})
      ctx.fact('the worker is stopped', () => ({ok: procStat(worker)?.state === 'T', detail: `state ${procStat(worker)?.state}`}))
    })
    await ctx.step('Continue it: SIGCONT from the host', async () => {
      const from = await ctx.kill(worker, 'CONT')
      ctx.expect('SIGCONT resumes the worker; the kernel then drops the signal itself (default action): result "ignored"', {kind: 'signal', sig: SIG.CONT, via: 'kill', from: sender(from), to: workerRef(), result: 'ignored'})
      ctx.expect('the kernel sends the supervisor SIGCHLD (CLD_CONTINUED)', {kind: 'signal', signame: 'SIGCHLD', via: 'kernel', code: 'CLD_CONTINUED', from: {pid: worker}, to: supRef(), result: 'ignored'})
      ctx.expect("the supervisor's wait4 reports it: continued", {kind: 'reap', reaper: supRef(), child: workerRef(), syscall: 'wait4', options: ['WUNTRACED', 'WCONTINUED'], status: {continued: true}, statusFrom: 'wait'})
      ctx.fact('the worker runs again', () => ({ok: procStat(worker)?.state === 'S', detail: `state ${procStat(worker)?.state}`}))
    })
    await ctx.step('End the worker: SIGTERM from the host', async () => {
      const from = await ctx.kill(worker, 'TERM')
      ctx.expect('SIGTERM is delivered (the worker is not a PID 1)', {kind: 'signal', sig: SIG.TERM, via: 'kill', from: sender(from), to: workerRef(), result: 'delivered'})
      ctx.expect('the worker dies of SIGTERM', {kind: 'exit', proc: workerRef(), signal: SIG.TERM, groupDead: true})
      ctx.expect('the supervisor reaps it for good: killed by SIGTERM', {kind: 'reap', reaper: supRef(), child: workerRef(), syscall: 'wait4', status: {signaled: SIG.TERM, core: false}})
      ctx.expect('the supervisor exits 0', {kind: 'exit', proc: supRef(), code: 0, groupDead: true})
    })
  },
}

export const EXERCISES: readonly Exercise[] = [pauseAnatomy, sharedPid, pid1IgnoresSigterm, zombies, killPause, stopContinue]

export function findExercise(id: string): Exercise | undefined {
  return EXERCISES.find((e) => e.id === id)
}
