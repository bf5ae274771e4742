// A private containerd for the CRI lab and the tests: its own socket, root and state under a temp
// dir, the lab's pause as the sandbox image (imported, nothing pulled), a bridge network on a
// test-only subnet; and a cleanup that removes everything it made, by PID and by the names it chose.
// The configuration and why each setting is there: docs/lab.md ("A private containerd").
import {closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, rmdirSync, writeFileSync} from 'node:fs'
import {spawn} from 'node:child_process'
import os from 'node:os'
import path from 'node:path'
import {EnvironmentError} from '../errors.js'
import {findOnPath} from '../util/which.js'
import {CriClient} from '../sandbox/cri-client.js'
import {parseVersion} from '../sandbox/cri.js'
import {ensurePause} from './build-pause.js'
import {ensureLabkit} from './build-labkit.js'
import {findStaticBusybox, makeRootfs} from './busybox.js'
import {runStepNoThrow, displayCommand, type CommandLog} from './exec.js'
import {writeOciArchive} from './oci-image.js'
import {identify, isAlive, exists, signalIdentity, sleep, type ProcIdentity} from './procs.js'
import {listPids, readCmdline, readText} from '../proc/read.js'
import type {Leftover, Made} from './runtime.js'

export const PAUSE_IMAGE = 'localhost/pausetrace-pause:lab'
export const LAB_IMAGE = 'localhost/pausetrace-lab:lab'
export const CNI_BIN_DIR = '/usr/lib/cni'
/** where containerd 1.6's shims put their sockets, whatever its own state dir (seen here) */
export const SHIM_SOCKET_DIR = '/run/containerd/s'
const INSTALL = 'sudo apt-get install -y containerd containernetworking-plugins'

/** The names one private containerd gives what it makes outside its temp dir, from one tag. */
export function labNames(tag: number): {network: string; bridge: string; cgroupParent: string; subnet: string} {
  return {
    network: `pausetrace-cri-${tag}`,
    // a link name has at most 15 characters: "ptcri" and up to 7 digits of a PID
    bridge: `ptcri${tag % 10_000_000}`,
    cgroupParent: `/pausetrace-cri-${tag}`,
    // 198.18.0.0/15 is set aside for tests (RFC 2544): nothing on a real network uses it
    subnet: `198.18.${tag % 256}.0/24`,
  }
}

/** config.toml (verified on Debian 12's containerd 1.6.20: ../shared notes, docs/lab.md). */
export function containerdConfig(dir: string): string {
  return `# written by pausetrace; read through --config, nothing in /etc is used
version = 2
root = "${dir}/root"
state = "${dir}/state"
[grpc]
  address = "${dir}/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  # a root without CAP_SYS_RESOURCE cannot give the sandbox oom_score_adj -998 (runc then fails)
  restrict_oom_score_adj = true
  # the pods' network namespaces are bind-mounted here, not in /var/run/netns
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${CNI_BIN_DIR}"
    conf_dir = "${dir}/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    # without it: "container.Runtime.Name must be set"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        # runc's state beside ours, not in /run/containerd/runc
        Root = "${dir}/runc"
`
}

/**
 * The pods' network: a bridge with no address (`isGateway: false`) and no NAT, so nothing is
 * routed and no traffic leaves; the CRI plugin still wants an eth0 with an address in each pod.
 * host-local keeps its leases in the temp dir.
 */
export function cniConfig(dir: string, names: ReturnType<typeof labNames>): string {
  return `${JSON.stringify({
    cniVersion: '1.0.0',
    name: names.network,
    plugins: [{type: 'bridge', bridge: names.bridge, isGateway: false, ipMasq: false, ipam: {type: 'host-local', ranges: [[{subnet: names.subnet}]], dataDir: `${dir}/cni-ipam`}}],
  }, null, 2)}\n`
}

function requireTools(): {containerd: string; ctr: string} {
  if (process.geteuid?.() !== 0) throw new EnvironmentError('a private containerd needs root; run it with sudo.', 'NOT_ROOT')
  const containerd = findOnPath('containerd', `${process.env.PATH ?? ''}:/usr/bin:/usr/sbin`)
  const ctr = findOnPath('ctr', `${process.env.PATH ?? ''}:/usr/bin:/usr/sbin`)
  const runc = findOnPath('runc', `${process.env.PATH ?? ''}:/usr/bin:/usr/sbin`)
  if (!containerd || !ctr || !runc) throw new EnvironmentError(`containerd${!runc ? ' or runc' : ''} is not installed, and the CRI lab runs its pods with it; install it with: ${INSTALL}`, 'LAB_TOOL_MISSING')
  for (const plugin of ['bridge', 'host-local']) {
    if (!existsSync(path.join(CNI_BIN_DIR, plugin))) throw new EnvironmentError(`the CNI plugin ${CNI_BIN_DIR}/${plugin} is missing, and the CRI lab's pods need it; install it with: ${INSTALL}`, 'LAB_TOOL_MISSING')
  }
  return {containerd, ctr}
}

/** Processes whose command line names this socket: containerd's shims (`-address SOCK`). */
function shimsOf(socket: string): ProcIdentity[] {
  const out: ProcIdentity[] = []
  for (const pid of listPids()) {
    const argv = readCmdline(pid)
    if (argv.includes(socket) && argv.some((a) => a.includes('containerd-shim'))) {
      const id = identify(pid, `containerd-shim (PID ${pid})`)
      if (id) out.push(id)
    }
  }
  return out
}

/** Processes in a cgroup under `parent` (the pods' pause and containers), by /proc/PID/cgroup. */
function processesInCgroup(parent: string): ProcIdentity[] {
  const out: ProcIdentity[] = []
  for (const pid of listPids()) {
    const cg = readText(`/proc/${pid}/cgroup`) ?? ''
    if (cg.split('\n').some((l) => l.slice(l.indexOf(':', l.indexOf(':') + 1) + 1).startsWith(`${parent}/`))) {
      const id = identify(pid, `a process of the lab's pods (PID ${pid})`)
      if (id) out.push(id)
    }
  }
  return out
}

/** Mount points at or under `dir`, deepest first. */
export function mountsUnder(dir: string, mountinfo = readText('/proc/self/mountinfo') ?? ''): string[] {
  const points = new Set<string>()
  for (const line of mountinfo.split('\n')) {
    // field 5 is the mount point, with spaces and the like escaped as \040…
    const mp = line.split(' ')[4]?.replace(/\\(\d{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)))
    if (mp && (mp === dir || mp.startsWith(`${dir}/`))) points.add(mp)
  }
  return [...points].sort((a, b) => b.length - a.length)
}

/** cgroup directories named `parent` in every hierarchy, with their children first. */
function cgroupDirs(parent: string): string[] {
  const out: string[] = []
  const walk = (d: string): void => {
    let kids: string[] = []
    try {
      kids = readdirSync(d, {withFileTypes: true}).filter((e) => e.isDirectory()).map((e) => path.join(d, e.name))
    } catch {
      return
    }
    for (const k of kids) walk(k)
    out.push(d)
  }
  let roots: string[] = []
  try {
    roots = readdirSync('/sys/fs/cgroup', {withFileTypes: true}).filter((e) => e.isDirectory()).map((e) => path.join('/sys/fs/cgroup', e.name))
  } catch {
    return []
  }
  for (const r of [...roots, '/sys/fs/cgroup']) if (existsSync(path.join(r, parent))) walk(path.join(r, parent))
  return out
}

export interface PrivateContainerdOptions {
  log?: CommandLog
  signal?: AbortSignal
  /** how long containerd may take to answer on its socket */
  startTimeoutMs?: number
}

export class PrivateContainerd {
  readonly socket: string
  readonly names: ReturnType<typeof labNames>
  private proc?: ProcIdentity
  private shims = new Map<string, ProcIdentity>()
  private client?: CriClient
  private cleaned = false
  /** whether /run/containerd existed before: then it is not ours to remove */
  private readonly hadShimSocketDir = existsSync(path.dirname(SHIM_SOCKET_DIR))

  private constructor(readonly dir: string, private readonly tools: {containerd: string; ctr: string}, private readonly opts: PrivateContainerdOptions) {
    this.socket = path.join(dir, 'containerd.sock')
    this.names = labNames(process.pid)
  }

  /** Starts it and imports the lab's images; on any failure, what was made is removed first. */
  static async start(opts: PrivateContainerdOptions = {}): Promise<PrivateContainerd> {
    const tools = requireTools()
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-cri-'))
    const cd = new PrivateContainerd(dir, tools, opts)
    try {
      await cd.boot()
      return cd
    } catch (err) {
      await cd.cleanup()
      throw err
    }
  }

  get cri(): CriClient {
    if (!this.client) throw new Error('the private containerd is not running')
    return this.client
  }

  get pid(): number | undefined {
    return this.proc?.pid
  }

  private log(argv: string[]): void {
    this.opts.log?.(argv)
  }

  private async boot(): Promise<void> {
    const {dir} = this
    for (const d of ['net.d', 'images', 'cni-ipam']) mkdirSync(path.join(dir, d), {recursive: true, mode: 0o700})
    writeFileSync(path.join(dir, 'config.toml'), containerdConfig(dir), {mode: 0o600})
    writeFileSync(path.join(dir, 'net.d/10-pausetrace.conflist'), cniConfig(dir, this.names), {mode: 0o600})
    const images = await this.buildImages()

    const logFd = openSync(path.join(dir, 'containerd.log'), 'a', 0o600)
    const setpriv = findOnPath('setpriv') ?? '/usr/bin/setpriv'
    const argv = [this.tools.containerd, '--config', path.join(dir, 'config.toml')]
    this.log(argv)
    // setpriv: containerd dies with pausetrace, even a SIGKILLed one (its shims are cleaned up by name)
    const child = spawn(setpriv, ['--pdeathsig', 'KILL', '--', ...argv], {stdio: ['ignore', logFd, logFd], detached: true})
    closeSync(logFd)
    child.unref()
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
    let gone = false
    void exited.then(() => (gone = true))
    this.proc = identify(child.pid ?? 0, 'containerd')

    const end = Date.now() + (this.opts.startTimeoutMs ?? 20_000)
    for (;;) {
      if (gone) throw new EnvironmentError(`containerd exited at start: ${this.logTail()}`, 'CONTAINERD_FAILED')
      if (existsSync(this.socket)) {
        this.client ??= await CriClient.open({path: this.socket, source: 'flag'})
        const v = await this.client.call('Version', {version: 'v1'}).then(parseVersion, () => null)
        if (v) break
      }
      if (Date.now() > end) throw new EnvironmentError(`containerd did not answer on ${this.socket} within ${(this.opts.startTimeoutMs ?? 20_000) / 1000} s: ${this.logTail()}`, 'CONTAINERD_FAILED')
      await sleep(100, this.opts.signal)
    }
    for (const [name, archive] of [[PAUSE_IMAGE, images.pause], [LAB_IMAGE, images.lab]] as const) {
      const ctrArgs = ['--address', this.socket, '-n', 'k8s.io', 'images', 'import', '--base-name', name.slice(0, name.lastIndexOf(':')), archive]
      this.log([this.tools.ctr, ...ctrArgs])
      const r = await runStepNoThrow(this.tools.ctr, ctrArgs, {signal: this.opts.signal})
      if (r.code !== 0) throw new EnvironmentError(`${displayCommand(['ctr', ...ctrArgs])} failed: ${r.stderr.trim().split('\n').at(-1) ?? ''}`, 'CONTAINERD_FAILED')
    }
  }

  /** The sandbox image (the static pause alone) and the containers' (a static busybox and labkit). */
  private async buildImages(): Promise<{pause: string; lab: string}> {
    const imgDir = path.join(this.dir, 'images')
    const pauseRoot = path.join(imgDir, 'pause-rootfs')
    mkdirSync(pauseRoot, {mode: 0o755})
    copyFileSync(await ensurePause(), path.join(pauseRoot, 'pause'))
    const labRoot = path.join(imgDir, 'lab-rootfs')
    makeRootfs(labRoot, findStaticBusybox(), await ensureLabkit())
    const pause = path.join(imgDir, 'pause.tar')
    const lab = path.join(imgDir, 'lab.tar')
    await writeOciArchive({rootfs: pauseRoot, out: pause, tag: 'lab', entrypoint: ['/pause'], signal: this.opts.signal})
    await writeOciArchive({rootfs: labRoot, out: lab, tag: 'lab', entrypoint: ['/bin/sh'], signal: this.opts.signal})
    rmSync(pauseRoot, {recursive: true, force: true})
    rmSync(labRoot, {recursive: true, force: true})
    return {pause, lab}
  }

  private logTail(): string {
    const text = readText(path.join(this.dir, 'containerd.log')) ?? ''
    const errors = text.split('\n').filter((l) => /level=(error|fatal)/.test(l))
    return (errors.at(-1) ?? text.trim().split('\n').at(-1) ?? 'no log').slice(0, 400)
  }

  /** Notes the shims now running (call after starting pods: they outlive a containerd that dies). */
  noteShims(): void {
    for (const s of shimsOf(this.socket)) this.shims.set(`${s.pid}:${s.start}`, s)
  }

  /** Everything made so far, by id or name. */
  made(): Made[] {
    const out: Made[] = [{what: 'directory', path: this.dir}]
    if (this.proc) out.push({what: 'process', pid: this.proc.pid, start: this.proc.start, comm: 'containerd'})
    for (const s of this.shims.values()) out.push({what: 'process', pid: s.pid, start: s.start, comm: 'containerd-shim-runc-v2'})
    out.push({what: 'link', name: this.names.bridge}, {what: 'directory', path: `/var/lib/cni/networks/${this.names.network}`}, {what: 'cgroup', path: this.names.cgroupParent})
    return out
  }

  /**
   * Removes everything: the pods and containers through the CRI (which also tears their network
   * down), any of their processes left, containerd, its shims, the mounts under the temp dir, the
   * bridge, the CNI state and the cgroups; then says what, if anything, is still there.
   */
  async cleanup(): Promise<Leftover[]> {
    if (!this.cleaned) {
      this.cleaned = true
      this.noteShims()
      const podProcs = processesInCgroup(this.names.cgroupParent)
      if (this.client && this.proc && isAlive(this.proc)) await this.removeAllPods(this.client)
      this.client?.close()
      this.client = undefined
      for (const p of podProcs) signalIdentity(p, 'SIGKILL')
      if (this.proc) await this.stopProcess(this.proc)
      this.noteShims()
      for (const s of this.shims.values()) await this.stopProcess(s)
      for (const mp of mountsUnder(this.dir)) {
        if ((await this.run('umount', [mp])).code !== 0) await this.run('umount', ['-l', mp])
      }
      if (existsSync(`/sys/class/net/${this.names.bridge}`)) await this.run('ip', ['link', 'delete', this.names.bridge, 'type', 'bridge'])
      rmSync(`/var/lib/cni/networks/${this.names.network}`, {recursive: true, force: true})
      for (const f of safeReaddir('/var/lib/cni/results')) if (f.startsWith(`${this.names.network}-`)) rmSync(path.join('/var/lib/cni/results', f), {force: true})
      for (const d of cgroupDirs(this.names.cgroupParent)) {
        try {
          rmdirSync(d)
        } catch {
          // still busy: reported below
        }
      }
      if (mountsUnder(this.dir).length === 0) rmSync(this.dir, {recursive: true, force: true})
      // containerd 1.6's shims put their sockets in /run/containerd/s whatever the state dir is
      if (!this.hadShimSocketDir) for (const d of [SHIM_SOCKET_DIR, path.dirname(SHIM_SOCKET_DIR)]) rmdirQuietly(d)
    }
    return this.leftovers()
  }

  private async removeAllPods(cri: CriClient): Promise<void> {
    const quick = 10_000
    const ctrs = ((await cri.call('ListContainers', {}).catch(() => ({containers: []}))) as {containers?: Array<{id: string}>}).containers ?? []
    for (const c of ctrs) {
      await cri.call('StopContainer', {containerId: c.id, timeout: 0}, quick).catch(() => undefined)
      await cri.call('RemoveContainer', {containerId: c.id}, quick).catch(() => undefined)
    }
    const pods = ((await cri.call('ListPodSandbox', {}).catch(() => ({items: []}))) as {items?: Array<{id: string}>}).items ?? []
    for (const p of pods) {
      await cri.call('StopPodSandbox', {podSandboxId: p.id}, quick).catch(() => undefined)
      await cri.call('RemovePodSandbox', {podSandboxId: p.id}, quick).catch(() => undefined)
    }
  }

  /**
   * SIGTERM, then SIGKILL after 5 s, to a process only while it is still the one noted; then waits
   * until it is reaped too (a shim's parent is PID 1, which may take a moment to reap it).
   */
  private async stopProcess(p: ProcIdentity): Promise<void> {
    signalIdentity(p, 'SIGTERM')
    for (let i = 0; i < 100 && exists(p); i++) {
      if (i === 50) signalIdentity(p, 'SIGKILL')
      await sleep(100)
    }
  }

  private run(cmd: string, args: string[]): Promise<{code: number | null}> {
    this.log([cmd, ...args])
    return runStepNoThrow(findOnPath(cmd, `${process.env.PATH ?? ''}:/usr/sbin:/sbin:/usr/bin:/bin`) ?? cmd, args, {timeoutMs: 15_000})
  }

  /** What is still there of what this containerd made, with how to remove it by hand. */
  leftovers(): Leftover[] {
    const left: Leftover[] = []
    for (const m of this.made()) {
      if (m.what === 'process' && exists({pid: m.pid, start: m.start, what: m.comm})) left.push({made: m, why: `${m.comm} (PID ${m.pid}) is still running`, fix: `sudo kill -KILL ${m.pid}`})
      if (m.what === 'directory' && existsSync(m.path)) left.push({made: m, why: `${m.path} is still there`, fix: `sudo rm -r ${m.path}`})
      if (m.what === 'link' && existsSync(`/sys/class/net/${m.name}`)) left.push({made: m, why: `the bridge ${m.name} is still there`, fix: `sudo ip link delete ${m.name}`})
      if (m.what === 'cgroup') for (const d of cgroupDirs(m.path)) left.push({made: m, why: `cgroup ${d} is still there`, fix: `sudo rmdir ${d}`})
    }
    if (!this.hadShimSocketDir && existsSync(SHIM_SOCKET_DIR)) left.push({made: {what: 'directory', path: SHIM_SOCKET_DIR}, why: `${SHIM_SOCKET_DIR} is still there (a shim's socket)`, fix: `sudo rm -r ${path.dirname(SHIM_SOCKET_DIR)}`})
    for (const mp of mountsUnder(this.dir)) left.push({made: {what: 'mount', path: mp}, why: `${mp} is still mounted`, fix: `sudo umount -l ${mp}`})
    for (const p of processesInCgroup(this.names.cgroupParent)) left.push({made: {what: 'process', pid: p.pid, start: p.start, comm: p.what}, why: `${p.what} is still running`, fix: `sudo kill -KILL ${p.pid}`})
    return left
  }
}

function rmdirQuietly(d: string): void {
  try {
    rmdirSync(d)
  } catch {
    // not there, or not empty (then not only ours)
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}
