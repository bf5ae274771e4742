// The `podman` runtime: real pods. A sandbox is `podman pod create [--share +pid]` (its infra
// container runs podman's catatonit as PID 1); a container is `podman run -d --pod POD --rootfs
// DIR` with the lab's busybox directory, so nothing is pulled. podman gets its settings through
// CONTAINERS_CONF pointing at a file in the lab's private temp dir (nothing in /etc is touched):
// cgroupfs and runc, and ulimits that this kind of machine accepts.
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {EnvironmentError} from '../errors.js'
import {findOnPath} from '../util/which.js'
import {ensureLabkit} from './build-labkit.js'
import {findStaticBusybox, makeRootfs} from './busybox.js'
import {runStep, runStepNoThrow} from './exec.js'
import {mountsMentioning} from './leftovers.js'
import {AbortedError, comm, exists, identify, nsOf, procStat, sleep, waitFor, type ProcIdentity} from './procs.js'
import type {LabContainer, LabRuntime, LabSandbox, Leftover, Made, RuntimeOptions} from './runtime.js'

export const CONTAINERS_CONF_TEXT = `# written by pausetrace lab; used through CONTAINERS_CONF, /etc is left alone
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
`

/** Every pod and container the lab makes is named `pausetrace-lab-<pausetrace PID>-<name>`. */
export function labObjectName(name: string, pid = process.pid): string {
  const full = `pausetrace-lab-${pid}-${name}`
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(full)) throw new Error(`not a valid podman name: ${full}`)
  return full
}

export class PodmanRuntime implements LabRuntime {
  readonly name = 'podman' as const
  private dir?: string
  private rootfs = ''
  private env: NodeJS.ProcessEnv = {}
  private podman = ''
  private pods: string[] = []
  private processes: ProcIdentity[] = []
  private madeList: Made[] = []

  constructor(private readonly opts: RuntimeOptions) {}

  async prepare(): Promise<void> {
    const podman = findOnPath('podman')
    if (!podman) throw new EnvironmentError('podman is not installed; install it (Debian/Ubuntu: sudo apt-get install -y podman runc catatonit) or use --runtime namespaces.', 'LAB_TOOL_MISSING')
    this.podman = podman
    const busybox = findStaticBusybox()
    const labkit = await ensureLabkit()
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-lab-'))
    this.madeList.push({what: 'directory', path: this.dir})
    const conf = path.join(this.dir, 'containers.conf')
    writeFileSync(conf, CONTAINERS_CONF_TEXT, {mode: 0o644})
    this.rootfs = path.join(this.dir, 'rootfs')
    makeRootfs(this.rootfs, busybox, labkit)
    this.env = {...process.env, CONTAINERS_CONF: conf}
  }

  /**
   * A narrated podman step. It is never cut short (a pod half made by a killed `podman pod create`
   * would have no id to remove it by): Ctrl-C takes effect once it returns.
   */
  private async run(args: string[]): Promise<string> {
    if (this.opts.signal.aborted) throw new AbortedError()
    this.opts.log(['podman', ...args])
    const out = (await runStep(this.podman, args, {env: this.env, timeoutMs: 120_000})).stdout.trim()
    if (this.opts.signal.aborted) throw new AbortedError()
    return out
  }

  /** Quiet podman queries (not narrated). */
  private async query(args: string[]): Promise<string> {
    return (await runStep(this.podman, args, {env: this.env, signal: this.opts.signal, timeoutMs: 60_000})).stdout.trim()
  }

  private track(pid: number, what: string): void {
    const id = identify(pid, what)
    if (!id) return
    this.processes.push(id)
    this.madeList.push({what: 'process', pid, start: id.start, comm: comm(pid) ?? what})
  }

  /** The container's first process, once runc has exec'd it (its comm no longer runc's). */
  private async started(ctrId: string, what: string, want?: string): Promise<number> {
    const pid = Number(await this.query(['inspect', '--format', '{{.State.Pid}}', ctrId]))
    if (!(pid > 0)) throw new Error(`${what} has no PID after it started (it exited already?)`)
    await waitFor(() => {
      const c = comm(pid)
      if (c === undefined) throw new Error(`${what} (PID ${pid}) exited as it started`)
      return want ? c === want : !c.startsWith('runc')
    }, 10_000, `${what} to exec`, this.opts.signal)
    return pid
  }

  async createSandbox(name: string, opts: {sharePid: boolean}): Promise<LabSandbox> {
    const podName = labObjectName(name)
    const podId = await this.run(['pod', 'create', '--name', podName, ...(opts.sharePid ? ['--share', '+pid'] : [])])
    this.pods.push(podId)
    this.madeList.push({what: 'pod', id: podId, name: podName})
    await this.run(['pod', 'start', podId])
    const infraId = await this.query(['pod', 'inspect', '--format', '{{.InfraContainerID}}', podId])
    this.madeList.push({what: 'container', id: infraId, name: `${podName} infra`})
    const pausePid = await this.started(infraId, `the infra container of pod ${podName}`, 'catatonit')
    this.track(pausePid, `infra (catatonit) of pod ${podName}`)
    const parentPid = procStat(pausePid)?.ppid ?? 0
    this.track(parentPid, `conmon of pod ${podName}'s infra`)
    const sandboxKey = await this.query(['inspect', '--format', '{{.NetworkSettings.SandboxKey}}', infraId]).catch(() => '')
    if (sandboxKey.startsWith('/')) this.madeList.push({what: 'mount', path: sandboxKey})
    const ns = {net: nsOf(pausePid, 'net'), ipc: nsOf(pausePid, 'ipc'), uts: nsOf(pausePid, 'uts'), pid: nsOf(pausePid, 'pid')}
    for (const type of ['net', 'ipc', 'uts', 'pid'] as const) this.madeList.push({what: 'namespace', type, inode: ns[type]})
    this.madeList.push({what: 'namespace', type: 'mnt', inode: nsOf(pausePid, 'mnt')})
    return {name, sharePid: opts.sharePid, pausePid, pauseComm: 'catatonit', parentPid, parentComm: comm(parentPid) ?? 'conmon', sandboxId: `netns:${ns.net}`, ns, podId}
  }

  async runContainer(sb: LabSandbox, name: string, cmd: string[]): Promise<LabContainer> {
    const ctrName = labObjectName(name)
    const ctrId = await this.run(['run', '-d', '--pod', sb.podId as string, '--name', ctrName, '--rootfs', this.rootfs, ...cmd])
    this.madeList.push({what: 'container', id: ctrId, name: ctrName})
    const pid = await this.started(ctrId, `container ${ctrName}`)
    this.track(pid, `container ${ctrName}`)
    const parentPid = procStat(pid)?.ppid ?? 0
    this.track(parentPid, `conmon of container ${ctrName}`)
    const pidns = nsOf(pid, 'pid')
    if (!sb.sharePid) this.madeList.push({what: 'namespace', type: 'pid', inode: pidns})
    this.madeList.push({what: 'namespace', type: 'mnt', inode: nsOf(pid, 'mnt')})
    return {name, sandbox: sb, pid, ownPidNs: !sb.sharePid, parentPid, parentComm: comm(parentPid) ?? 'conmon', pidns, ctrId}
  }

  async execIn(ctr: LabContainer, cmd: string[]): Promise<{pid: number; stdout: string}> {
    const r = await this.run(['exec', ctr.ctrId as string, ...cmd])
    return {pid: 0, stdout: r}
  }

  made(): Made[] {
    return [...this.madeList]
  }

  async cleanup(found: readonly ProcIdentity[]): Promise<Leftover[]> {
    const left: Leftover[] = []
    // Pods carry this process's PID in their names: one whose id never reached the lab (an error
    // between create and its answer) is found by name, then removed by id like the others.
    if (this.podman) {
      const listed = await runStepNoThrow(this.podman, ['pod', 'ps', '--no-trunc', '--filter', `name=^${labObjectName('')}`, '--format', '{{.Id}}'], {env: this.env, timeoutMs: 60_000})
      for (const id of listed.stdout.split('\n').map((l) => l.trim()).filter((l) => /^[0-9a-f]{64}$/.test(l))) {
        if (!this.pods.includes(id)) {
          this.pods.push(id)
          this.madeList.push({what: 'pod', id, name: `${labObjectName('')}…`})
        }
      }
    }
    for (const podId of [...this.pods].reverse()) {
      const r = await runStepNoThrow(this.podman, ['pod', 'rm', '-f', '-t', '0', podId], {env: this.env, timeoutMs: 120_000})
      this.opts.log(['podman', 'pod', 'rm', '-f', '-t', '0', podId])
      if (r.code !== 0 && !/no pod with name or ID/i.test(r.stderr)) {
        const made = this.madeList.find((m) => m.what === 'pod' && m.id === podId) as Made
        left.push({made, why: `podman pod rm failed: ${r.stderr.trim().split('\n').at(-1) ?? ''}`, fix: `sudo CONTAINERS_CONF=<a containers.conf with runtime = "runc"> podman pod rm -f ${podId}`})
      }
    }
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline && [...this.processes, ...found].some(exists)) await sleep(20)
    for (const m of this.madeList) {
      if (m.what === 'pod' || m.what === 'container') {
        const kind = m.what === 'pod' ? 'pod' : 'container'
        const r = await runStepNoThrow(this.podman, [kind, 'exists', m.id], {env: this.env, timeoutMs: 60_000})
        if (r.code === 0) left.push({made: m, why: `${kind} ${m.name} (${m.id.slice(0, 12)}) still exists`, fix: `sudo podman ${kind} rm -f ${m.id}`})
        if (m.what === 'container') {
          const mounts = mountsMentioning(m.id)
          if (mounts.length > 0) left.push({made: m, why: `container ${m.name} still has ${mounts.length} mount(s), e.g. ${mounts[0].split(' ')[4]}`, fix: `sudo umount ${mounts[0].split(' ')[4]}`})
        }
      }
    }
    if (this.dir) rmSync(this.dir, {recursive: true, force: true})
    return left
  }
}
