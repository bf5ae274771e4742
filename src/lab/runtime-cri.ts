// The `cri` runtime: real Kubernetes pod sandboxes on a private containerd (containerd.ts) that
// the lab starts and stops, driven like a kubelet (cri-pods.ts). A sandbox is RunPodSandbox with
// the project's pause as the sandbox image (`pid: POD` or `CONTAINER`); a container runs the lab's
// busybox image. resync() is the kubelet's answer to a dead pause: the sandbox is stopped and run
// again with attempt + 1, and its containers are started again.
import {randomUUID} from 'node:crypto'
import {closeSync, openSync} from 'node:fs'
import {EnvironmentError} from '../errors.js'
import {findOnPath} from '../util/which.js'
import {parseContainerList, parsePodStatus} from '../sandbox/cri.js'
import {PrivateContainerd} from './containerd.js'
import {runContainer as criRunContainer, runPod, type RunningContainer, type RunningPod} from './cri-pods.js'
import {runStep} from './exec.js'
import {AbortedError, catches, comm, exists, identify, nsOf, procStat, sleep, waitFor, type ProcIdentity} from './procs.js'
import {CRI_LAB_NAMESPACE, KUBELET_GRACE_SECONDS, type LabContainer, type LabRuntime, type LabSandbox, type Leftover, type Made, type Resynced, type RuntimeOptions} from './runtime.js'

export {CRI_LAB_NAMESPACE, KUBELET_GRACE_SECONDS}

const SIGTERM = 15

interface PodState {
  sb: LabSandbox
  pod: RunningPod
  /** the containers started in it, with their commands (the kubelet starts them again) */
  containers: Array<{ctr: LabContainer; running: RunningContainer; cmd: string[]; attempt: number}>
  /** a dead sandbox already replaced */
  replaced: boolean
  pause: ProcIdentity
}

export class CriRuntime implements LabRuntime {
  readonly name = 'cri' as const
  private cd?: PrivateContainerd
  private nsenter = ''
  private pods: PodState[] = []
  private processes: ProcIdentity[] = []
  private madeList: Made[] = []
  /**
   * Each sandbox's network namespace held open until the cleanup, so the kernel cannot give its
   * inode to the sandbox that replaces it: pausetrace names a sandbox by that inode, and a reused
   * one would make the new sandbox look like the old (docs/lab.md, "Known limits").
   */
  private netnsFds: number[] = []

  constructor(private readonly opts: RuntimeOptions) {}

  /** The private containerd's CRI socket, for the live trace to name the pods (after prepare). */
  get criSocket(): string | undefined {
    return this.cd?.socket
  }

  async prepare(): Promise<void> {
    const nsenter = findOnPath('nsenter')
    if (!nsenter) throw new EnvironmentError('nsenter is not installed, and the cri runtime runs commands in containers with it; install util-linux (Debian/Ubuntu: sudo apt-get install -y util-linux).', 'LAB_TOOL_MISSING')
    this.nsenter = nsenter
    this.cd = await PrivateContainerd.start({log: this.opts.log, signal: this.opts.signal})
  }

  private get containerd(): PrivateContainerd {
    if (!this.cd) throw new Error('the cri runtime was not prepared')
    return this.cd
  }

  private track(pid: number, what: string): void {
    const id = identify(pid, what)
    if (!id) return
    this.processes.push(id)
    this.madeList.push({what: 'process', pid, start: id.start, comm: comm(pid) ?? what})
  }

  private holdNetns(pid: number): void {
    try {
      this.netnsFds.push(openSync(`/proc/${pid}/ns/net`, 'r'))
    } catch {
      // gone already: nothing to hold
    }
  }

  /** A CRI call, narrated as `cri METHOD what…` (a gRPC request on the socket: no process runs). */
  private say(method: string, ...what: string[]): void {
    this.opts.log(['cri', method, ...what])
  }

  private checkAbort(): void {
    if (this.opts.signal.aborted) throw new AbortedError()
  }

  private async startSandbox(name: string, sharePid: boolean, uid: string, attempt: number): Promise<{sb: LabSandbox; pod: RunningPod; pause: ProcIdentity}> {
    this.checkAbort()
    const cd = this.containerd
    this.say('RunPodSandbox', `${CRI_LAB_NAMESPACE}/${name}`, `attempt=${attempt}`, `pid=${sharePid ? 'POD' : 'CONTAINER'}`)
    const pod = await runPod(cd.cri, {name, namespace: CRI_LAB_NAMESPACE, uid, attempt, sharePid, cgroupParent: cd.names.cgroupParent})
    this.madeList.push({what: 'sandbox', id: pod.id, name: `${CRI_LAB_NAMESPACE}/${name} attempt ${attempt}`})
    cd.noteShims()
    const pausePid = pod.pausePid
    // Ready once pause has its handlers: a SIGTERM sent before would be dropped (a PID 1 without one).
    await waitFor(() => comm(pausePid) === 'pause' && catches(pausePid, SIGTERM), 10_000, `the pause of pod ${name}`, this.opts.signal)
    const pause = identify(pausePid, `pause of pod ${name}`)
    if (!pause) throw new Error(`the pause of pod ${name} (PID ${pausePid}) exited as it started`)
    this.track(pausePid, pause.what)
    this.holdNetns(pausePid)
    const parentPid = procStat(pausePid)?.ppid ?? 0
    const ns = {net: nsOf(pausePid, 'net'), ipc: nsOf(pausePid, 'ipc'), uts: nsOf(pausePid, 'uts'), pid: nsOf(pausePid, 'pid')}
    for (const type of ['net', 'ipc', 'uts', 'pid'] as const) this.madeList.push({what: 'namespace', type, inode: ns[type]})
    this.madeList.push({what: 'namespace', type: 'mnt', inode: nsOf(pausePid, 'mnt')})
    const sb: LabSandbox = {name, sharePid, pausePid, pauseComm: 'pause', parentPid, parentComm: comm(parentPid) ?? 'containerd-shim', sandboxId: `netns:${ns.net}`, ns, podId: pod.id}
    return {sb, pod, pause}
  }

  async createSandbox(name: string, opts: {sharePid: boolean}): Promise<LabSandbox> {
    const {sb, pod, pause} = await this.startSandbox(name, opts.sharePid, randomUUID(), 0)
    this.pods.push({sb, pod, pause, containers: [], replaced: false})
    return sb
  }

  private async startContainer(state: PodState, name: string, cmd: string[], attempt = 0): Promise<LabContainer> {
    this.checkAbort()
    this.say('CreateContainer+StartContainer', name, ...(attempt ? [`attempt=${attempt}`] : []), ...cmd)
    const running = await criRunContainer(this.containerd.cri, state.pod, name, cmd, 60_000, attempt)
    this.madeList.push({what: 'container', id: running.id, name})
    this.containerd.noteShims()
    const pid = running.pid
    // runc has exec'd the command once the comm is no longer runc's
    await waitFor(() => {
      const c = comm(pid)
      if (c === undefined) throw new Error(`container ${name} (PID ${pid}) exited as it started`)
      return !c.startsWith('runc')
    }, 10_000, `container ${name} to exec`, this.opts.signal)
    this.track(pid, `container ${name}`)
    const parentPid = procStat(pid)?.ppid ?? 0
    const pidns = nsOf(pid, 'pid')
    const sb = state.sb
    if (!sb.sharePid) this.madeList.push({what: 'namespace', type: 'pid', inode: pidns})
    this.madeList.push({what: 'namespace', type: 'mnt', inode: nsOf(pid, 'mnt')})
    const ctr: LabContainer = {name, sandbox: sb, pid, ownPidNs: !sb.sharePid, parentPid, parentComm: comm(parentPid) ?? 'containerd-shim', pidns, ctrId: running.id}
    state.containers.push({ctr, running, cmd, attempt})
    return ctr
  }

  async runContainer(sb: LabSandbox, name: string, cmd: string[]): Promise<LabContainer> {
    const state = this.pods.find((p) => p.sb === sb)
    if (!state) throw new Error(`sandbox ${sb.name} is not one of the cri runtime's`)
    return this.startContainer(state, name, cmd)
  }

  /**
   * Runs a command in a container's namespaces and root (what `kubectl exec` amounts to), with
   * nsenter: the project's CRI client does not speak ExecSync. The image's own shell runs it.
   */
  async execIn(ctr: LabContainer, cmd: string[]): Promise<{pid: number; stdout: string}> {
    const args = ['-t', String(ctr.pid), '--pid', '--net', '--ipc', '--uts', '--mount', '--root', '--wd', '--', ...cmd]
    this.opts.log(['nsenter', ...args])
    const r = await runStep(this.nsenter, args, {env: {PATH: '/bin', HOME: '/', LANG: 'C'}, signal: this.opts.signal, timeoutMs: 20_000})
    return {pid: r.pid, stdout: r.stdout}
  }

  /**
   * The kubelet's sync loop, once: each sandbox PodSandboxStatus reports NOTREADY (its pause died)
   * gets its running containers stopped with the grace period, is stopped, run again as the same
   * pod with attempt + 1, and has its containers started again; then the dead one is removed (the
   * kubelet's garbage collector does that later).
   */
  async resync(): Promise<Resynced[]> {
    const cd = this.containerd
    const out: Resynced[] = []
    for (const state of [...this.pods]) {
      if (state.replaced) continue
      this.checkAbort()
      // containerd marks a sandbox NOTREADY when it handles its pause's exit: a moment after it
      const pauseGone = !exists(state.pause)
      let ready = true
      for (const end = Date.now() + (pauseGone ? 10_000 : 0); ;) {
        const status = parsePodStatus(await cd.cri.call('PodSandboxStatus', {podSandboxId: state.pod.id, verbose: true}, 10_000))
        ready = status?.pod.ready ?? true
        if (!ready || Date.now() >= end) break
        await sleep(100, this.opts.signal)
      }
      if (ready) continue
      this.say('PodSandboxStatus', state.pod.id.slice(0, 12), 'SANDBOX_NOTREADY')
      state.replaced = true
      const listed = parseContainerList(await cd.cri.call('ListContainers', {}, 10_000)).filter((c) => c.podSandboxId === state.pod.id)
      for (const c of listed.filter((x) => x.state === 'CONTAINER_RUNNING')) {
        this.say('StopContainer', c.name, `timeout=${KUBELET_GRACE_SECONDS}`)
        await cd.cri.call('StopContainer', {containerId: c.id, timeout: KUBELET_GRACE_SECONDS}, (KUBELET_GRACE_SECONDS + 30) * 1000)
      }
      this.say('StopPodSandbox', state.pod.id.slice(0, 12))
      await cd.cri.call('StopPodSandbox', {podSandboxId: state.pod.id}, 60_000)
      const spec = state.pod.spec
      const attempt = (spec.attempt ?? 0) + 1
      const {sb, pod, pause} = await this.startSandbox(spec.name, spec.sharePid === true, spec.uid, attempt)
      const next: PodState = {sb, pod, pause, containers: [], replaced: false}
      this.pods.push(next)
      const containers: LabContainer[] = []
      for (const c of state.containers) containers.push(await this.startContainer(next, c.ctr.name, c.cmd, c.attempt + 1))
      this.say('RemovePodSandbox', state.pod.id.slice(0, 12))
      await cd.cri.call('RemovePodSandbox', {podSandboxId: state.pod.id}, 60_000)
      out.push({old: state.sb, sandbox: sb, attempt, containers})
    }
    return out
  }

  made(): Made[] {
    return [...(this.cd?.made() ?? []), ...this.madeList]
  }

  async cleanup(found: readonly ProcIdentity[]): Promise<Leftover[]> {
    // containerd removes its pods (their containers and network with them), then it, its shims,
    // their mounts, the bridge and the CNI state go (containerd.ts); then the namespaces held open.
    const left = this.cd ? await this.cd.cleanup() : []
    for (const fd of this.netnsFds.splice(0)) closeSync(fd)
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline && [...this.processes, ...found].some(exists)) await sleep(20)
    return left
  }
}
