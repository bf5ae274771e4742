// The `namespaces` runtime: a sandbox is `unshare --pid --fork --net --ipc --uts --mount-proc
// --kill-child PAUSE` (the project's pause as PID 1 of new namespaces); a container is a process
// started by `nsenter` in the sandbox's net/ipc/uts namespaces, either in the pause's PID
// namespace (shareProcessNamespace: true) or as PID 1 of one of its own (`unshare --pid` again).
// Containers run the busybox of the lab's rootfs directory, with only its bin/ on PATH.
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {EnvironmentError} from '../errors.js'
import {findOnPath} from '../util/which.js'
import {ensurePause} from './build-pause.js'
import {ensureLabkit} from './build-labkit.js'
import {findStaticBusybox, makeRootfs} from './busybox.js'
import {runStep, spawnLongLived, type LongLived} from './exec.js'
import {childrenOf} from '../proc/read.js'
import {catches, comm, exists, identify, isAlive, nsOf, signalIdentity, sleep, waitFor, type ProcIdentity} from './procs.js'
import type {LabContainer, LabRuntime, LabSandbox, Leftover, Made, RuntimeOptions} from './runtime.js'

const SIGTERM = 15
const LAUNCHERS = new Set(['setpriv', 'nsenter', 'unshare'])

export class NamespacesRuntime implements LabRuntime {
  readonly name = 'namespaces' as const
  private dir?: string
  private rootfs = ''
  private pausePath = ''
  private tools: Record<'unshare' | 'nsenter' | 'setpriv', string> = {unshare: '', nsenter: '', setpriv: ''}
  private launched: Array<{proc: LongLived; role: 'sandbox' | 'container'}> = []
  private processes: ProcIdentity[] = []
  private madeList: Made[] = []

  constructor(private readonly opts: RuntimeOptions) {}

  async prepare(): Promise<void> {
    for (const t of ['unshare', 'nsenter', 'setpriv'] as const) {
      const p = findOnPath(t)
      if (!p) throw new EnvironmentError(`${t} is not installed, and the namespaces runtime needs it; install util-linux (Debian/Ubuntu: sudo apt-get install -y util-linux).`, 'LAB_TOOL_MISSING')
      this.tools[t] = p
    }
    const busybox = findStaticBusybox()
    this.pausePath = await ensurePause()
    const labkit = await ensureLabkit()
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-lab-'))
    this.madeList.push({what: 'directory', path: this.dir})
    this.rootfs = path.join(this.dir, 'rootfs')
    makeRootfs(this.rootfs, busybox, labkit)
  }

  /** The environment of a container: the rootfs's bin/ only, as in an image. */
  private get containerEnv(): NodeJS.ProcessEnv {
    return {PATH: path.join(this.rootfs, 'bin'), HOME: '/', LANG: 'C'}
  }

  /** A container command's program, resolved in the rootfs (nsenter and unshare look names up on PATH). */
  private program(cmd: string[]): string[] {
    const [first, ...rest] = cmd
    return [first.includes('/') ? first : path.join(this.rootfs, 'bin', first), ...rest]
  }

  private track(pid: number, what: string): ProcIdentity | undefined {
    const id = identify(pid, what)
    if (id) {
      this.processes.push(id)
      this.madeList.push({what: 'process', pid, start: id.start, comm: comm(pid) ?? what})
    }
    return id
  }

  private launch(cmd: string, args: string[], role: 'sandbox' | 'container'): LongLived {
    this.opts.log([path.basename(cmd), ...args])
    const proc = spawnLongLived(cmd, args, this.containerEnv)
    this.launched.push({proc, role})
    if (proc.identity) {
      this.processes.push(proc.identity)
      this.madeList.push({what: 'process', pid: proc.pid, start: proc.identity.start, comm: path.basename(cmd)})
    }
    return proc
  }

  /** The launcher's child once it has exec'd the command (its comm is no longer a launcher's). */
  private async commandOf(proc: LongLived, what: string, ready: (pid: number) => boolean = () => true): Promise<number> {
    let pid = 0
    await waitFor(() => {
      if (proc.done()) throw new Error(`${what}: the launcher exited early: ${proc.stderr().trim() || 'no message'}`)
      for (const c of childrenOf(proc.pid)) {
        const name = comm(c)
        if (name && !LAUNCHERS.has(name) && ready(c)) {
          pid = c
          return true
        }
      }
      return false
    }, 10_000, what, this.opts.signal)
    return pid
  }

  async createSandbox(name: string, opts: {sharePid: boolean}): Promise<LabSandbox> {
    const launcher = this.launch(this.tools.unshare, ['--pid', '--fork', '--net', '--ipc', '--uts', '--mount-proc', '--kill-child', this.pausePath], 'sandbox')
    // Ready once the pause is PID 1 of the new namespace with its handlers installed: a SIGTERM
    // sent before that would be dropped by the kernel (a PID 1 without a handler).
    const pausePid = await this.commandOf(launcher, `the pause of sandbox "${name}"`, (pid) => comm(pid) === 'pause' && catches(pid, SIGTERM))
    this.track(pausePid, `pause of sandbox ${name}`)
    const ns = {net: nsOf(pausePid, 'net'), ipc: nsOf(pausePid, 'ipc'), uts: nsOf(pausePid, 'uts'), pid: nsOf(pausePid, 'pid')}
    for (const type of ['net', 'ipc', 'uts', 'pid'] as const) this.madeList.push({what: 'namespace', type, inode: ns[type]})
    this.madeList.push({what: 'namespace', type: 'mnt', inode: nsOf(pausePid, 'mnt')})
    return {name, sharePid: opts.sharePid, pausePid, pauseComm: 'pause', parentPid: launcher.pid, parentComm: comm(launcher.pid) ?? 'unshare', sandboxId: `netns:${ns.net}`, ns}
  }

  async runContainer(sb: LabSandbox, name: string, cmd: string[]): Promise<LabContainer> {
    const target = String(sb.pausePid)
    const args = sb.sharePid
      ? ['-t', target, '--pid', '--net', '--ipc', '--uts', '--mount', '--', ...this.program(cmd)]
      : ['-t', target, '--net', '--ipc', '--uts', '--', this.tools.unshare, '--pid', '--fork', '--mount-proc', '--kill-child', ...this.program(cmd)]
    const launcher = this.launch(this.tools.nsenter, args, 'container')
    const pid = await this.commandOf(launcher, `container "${name}" (${cmd.join(' ')}) to start`)
    this.track(pid, `container ${name}`)
    const pidns = nsOf(pid, 'pid')
    if (!sb.sharePid) {
      this.madeList.push({what: 'namespace', type: 'pid', inode: pidns})
      this.madeList.push({what: 'namespace', type: 'mnt', inode: nsOf(pid, 'mnt')})
    }
    return {name, sandbox: sb, pid, ownPidNs: !sb.sharePid, parentPid: launcher.pid, parentComm: comm(launcher.pid) ?? 'nsenter', pidns}
  }

  async execIn(ctr: LabContainer, cmd: string[]): Promise<{pid: number; stdout: string}> {
    const args = ['-t', String(ctr.pid), '--pid', '--net', '--ipc', '--uts', '--mount', '--', ...this.program(cmd)]
    this.opts.log(['nsenter', ...args])
    const r = await runStep(this.tools.nsenter, args, {env: this.containerEnv, signal: this.opts.signal, timeoutMs: 20_000})
    return {pid: r.pid, stdout: r.stdout}
  }

  made(): Made[] {
    return [...this.madeList]
  }

  async cleanup(found: readonly ProcIdentity[]): Promise<Leftover[]> {
    // SIGKILL by PID and start time, from the inside out: the pauses and containers first (a pause
    // takes its PID namespace down with it), so that each launcher (unshare, nsenter) reaps its
    // child and exits by itself. Killing a launcher first would orphan its child to the host's
    // init, whose reaping can take seconds (it did on the CI machine's init).
    const all = [...this.processes, ...found]
    const launchers = new Set(this.launched.map((l) => l.proc.pid))
    const inner = all.filter((p) => !launchers.has(p.pid) && isAlive(p))
    if (inner.length) this.opts.log(['kill', '-s', 'KILL', ...[...new Set(inner.map((p) => String(p.pid)))]])
    for (const p of inner) signalIdentity(p, 'SIGKILL')
    const launched = Promise.all(this.launched.map((l) => l.proc.exited))
    await Promise.race([launched, sleep(2000)])
    const stuck = all.filter((p) => launchers.has(p.pid) && isAlive(p))
    if (stuck.length) {
      this.opts.log(['kill', '-s', 'KILL', ...stuck.map((p) => String(p.pid))])
      for (const p of stuck) signalIdentity(p, 'SIGKILL')
      await Promise.race([launched, sleep(10_000)])
    }
    // A zombie goes once its parent is gone; give the kernel a moment to release each one.
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline && all.some(exists)) await sleep(20)
    if (this.dir) rmSync(this.dir, {recursive: true, force: true})
    return []
  }
}
