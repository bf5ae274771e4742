// `doctor`: every check tracing depends on, each with what was found and, when it fails, the
// fix. The probe check starts the real program and stops it, so "ok" means a trace will attach.
import {execFileSync} from 'node:child_process'
import {readdirSync, readFileSync, realpathSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import path from 'node:path'
import {effectiveCaps, hasBtf, hasTracingPrivileges, tracefsPath} from '../probe/environment.js'
import {bpftraceInfo, type BpftraceInfo} from '../probe/bpftrace.js'
import {TraceSession} from '../live/session.js'
import {findOnPath} from '../util/which.js'
import {CRI_SOCKET_ENV, CriClient, STANDARD_CRI_SOCKETS, criEndpoints, explainCriError, type CriEndpoint} from '../sandbox/cri-client.js'
import {parseVersion} from '../sandbox/cri.js'
import {PausetraceError, UsageError} from '../errors.js'

export interface Check {
  name: string
  ok: boolean
  /** informational checks never make doctor fail */
  required: boolean
  detail: string
  fix?: string
}

export interface DoctorReport {
  ok: boolean
  /** this installation, so a report says which copy of pausetrace ran */
  pausetrace: {version: string; root: string}
  /** the node running pausetrace now */
  node: {path: string; version: string}
  bpftrace: {command: string; version: string; source: string} | null
  checks: Check[]
}

export async function runDoctor(opts: {bpftrace?: string; criSocket?: string} = {}): Promise<DoctorReport> {
  // a --cri-socket that is not a socket is a usage error, said before the slow checks run
  if (opts.criSocket !== undefined) criEndpoints({flag: opts.criSocket})
  const checks: Check[] = []
  const priv = privilegesCheck(process.geteuid?.() ?? -1, effectiveCaps())
  checks.push(priv)
  const root = priv.ok
  const tfs = tracefsPath()
  checks.push({
    name: 'tracefs', required: true, ok: tfs !== undefined,
    detail: tfs ? `mounted at ${tfs}` : 'not mounted: the kernel tracepoints are not visible',
    fix: tfs ? undefined : 'sudo mount -t tracefs nodev /sys/kernel/tracing',
  })
  const btf = hasBtf()
  checks.push({
    name: 'btf', required: true, ok: btf,
    detail: btf ? '/sys/kernel/btf/vmlinux present' : '/sys/kernel/btf/vmlinux missing',
    fix: btf ? undefined : 'use a kernel built with CONFIG_DEBUG_INFO_BTF=y (the default on Debian 11+, Ubuntu 20.10+, RHEL 8.2+)',
  })
  let info: BpftraceInfo | undefined
  try {
    info = await bpftraceInfo(opts.bpftrace)
    checks.push({name: 'bpftrace', required: true, ok: true, detail: `${info.command} ${info.version} (from ${info.source === 'flag' ? '--bpftrace' : info.source === 'env' ? 'PAUSETRACE_BPFTRACE' : 'PATH'})`})
  } catch (err) {
    checks.push({name: 'bpftrace', required: true, ok: false, detail: (err as Error).message, fix: 'sudo apt-get install -y bpftrace (0.17 or newer), or pass --bpftrace PATH'})
  }
  if (info && root && tfs && btf) {
    const t0 = Date.now()
    const session = new TraceSession({bpftrace: info, filters: {all: false, pids: [process.pid], signals: []}, onRecord: () => undefined, stopStepMs: 2000})
    try {
      await session.start()
      const ms = Date.now() - t0
      const r = await session.stop('interrupt')
      checks.push({name: 'probes', required: true, ok: true, detail: `every probe attached in ${ms} ms${r.countsVerified ? ', stopped cleanly' : ''}`})
    } catch (err) {
      session.kill()
      checks.push({name: 'probes', required: true, ok: false, detail: (err as Error).message, fix: 'a tracepoint pausetrace needs is missing from this kernel (CONFIG_FTRACE_SYSCALLS, kernel 5.3+ for pidfd_send_signal); see the message for which one'})
    }
  } else {
    checks.push({name: 'probes', required: true, ok: false, detail: 'not tried: an earlier check failed', fix: 'fix the checks above first'})
  }
  checks.push(nodeCheck(nodeFacts()))
  const runtimes = ['podman', 'containerd', 'crio', 'cri-dockerd'].filter((c) => findOnPath(c))
  checks.push({name: 'runtimes', required: false, ok: runtimes.length > 0, detail: runtimes.length > 0 ? `found: ${runtimes.join(', ')}` : 'no container runtime found (pausetrace still traces bare namespaces)'})
  checks.push(...(await criChecks(opts.criSocket)))
  return {ok: checks.every((c) => c.ok || !c.required), pausetrace: installation(), node: {path: process.execPath, version: process.version}, bpftrace: info ? {command: info.command, version: info.version, source: info.source} : null, checks}
}

/**
 * One line per CRI socket: the runtime and version that answered, or why it did not; one line
 * when there is none to ask. Informational: pods are still found from namespaces without it.
 */
export async function criChecks(flag: string | undefined, env = process.env[CRI_SOCKET_ENV] || undefined): Promise<Check[]> {
  let endpoints: CriEndpoint[]
  try {
    endpoints = criEndpoints({flag, env})
  } catch (err) {
    if (err instanceof UsageError || !(err instanceof PausetraceError)) throw err
    return [{name: 'cri', required: false, ok: false, detail: err.message}]
  }
  if (endpoints.length === 0) {
    return [{name: 'cri', required: false, ok: false,
      detail: `no CRI socket at ${STANDARD_CRI_SOCKETS.map((s) => s.path).join(', ')}: pods are named from podman, the kubelet's files or cgroups`,
      fix: `on a Kubernetes node whose runtime listens elsewhere, pass --cri-socket PATH or set ${CRI_SOCKET_ENV}`}]
  }
  return Promise.all(endpoints.map(async (ep): Promise<Check> => {
    const from = ep.source === 'flag' ? ' (from --cri-socket)' : ep.source === 'env' ? ` (from ${CRI_SOCKET_ENV})` : ''
    const client = await CriClient.open(ep)
    try {
      const v = parseVersion(await client.call('Version', {version: 'v1'}))
      if (!v) return {name: 'cri', required: false, ok: false, detail: `${ep.path}${from}: the runtime answered Version without naming itself`}
      return {name: 'cri', required: false, ok: true, detail: `${ep.path}${from}: ${v.runtimeName} ${v.runtimeVersion} (CRI ${v.runtimeApiVersion})`}
    } catch (err) {
      return {name: 'cri', required: false, ok: false, detail: `${ep.path}${from}: ${explainCriError(err)}`, fix: 'start the runtime, or run pausetrace as root; pods are named from namespaces until it answers'}
    } finally {
      client.close()
    }
  }))
}

const CAP_NAMES: Array<[number, string]> = [[39, 'CAP_BPF'], [38, 'CAP_PERFMON'], [19, 'CAP_SYS_PTRACE']]

/**
 * Pure: root is not enough inside a container that drops capabilities (uid 0, CapEff cut to a
 * few bits); bpftrace then fails with misleading errors ("… is not available for your kernel
 * version"), so the missing capabilities are named here.
 */
export function privilegesCheck(euid: number, caps: bigint): Check {
  const capsOk = hasTracingPrivileges(-1, caps)
  if (euid === 0 && capsOk) return {name: 'privileges', required: true, ok: true, detail: 'running as root'}
  if (capsOk) return {name: 'privileges', required: true, ok: true, detail: 'CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE present'}
  const missing = CAP_NAMES.filter(([bit]) => (caps & (1n << BigInt(bit))) === 0n).map(([, n]) => n)
  if (euid === 0) {
    return {name: 'privileges', required: true, ok: false,
      detail: `running as root, but without ${missing.join(', ')} (a container or service that drops capabilities)`,
      fix: 'give the container the capabilities BPF, PERFMON and SYS_PTRACE (kernels before 5.8: SYS_ADMIN and SYS_PTRACE, or privileged); see docs/deploy.md'}
  }
  return {name: 'privileges', required: true, ok: false, detail: `running as uid ${euid} without the capabilities`, fix: 'run it with sudo (or grant CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE)'}
}

// Resolves to the package root from both src/doctor (tsx) and dist/doctor (built).
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url))

function installation(): DoctorReport['pausetrace'] {
  let version = 'unknown'
  try {
    version = (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {version?: string}).version ?? version
  } catch {
    // a damaged installation still gets its report
  }
  return {version, root: PACKAGE_ROOT.replace(/\/$/, '')}
}

// The sudo trap: a node installed per user (nvm, volta, ~/.local) is on the user's PATH but not
// on the PATH sudo gives root (secure_path), so `sudo pausetrace` dies in its shebang with
// "/usr/bin/env: 'node': No such file or directory" before any pausetrace code runs. doctor can
// only see it when started some other way (the user's node run directly, or without sudo), so
// it works out which PATH `sudo pausetrace` gets and which node, if any, that PATH finds.

/** Debian's and Ubuntu's sudoers default (Ubuntu adds /snap/bin). */
export const USUAL_SECURE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
export const MIN_NODE = {major: 20, minor: 19}

export interface NodeFacts {
  execPath: string
  version: string
  /** PATH of this process */
  envPath: string
  euid: number
  /** SUDO_USER: set when sudo started us, so PATH is already the one sudo gives */
  sudoUser?: string
  /** the last `Defaults secure_path=…` of the sudoers files, when readable */
  securePath?: {path: string; file: string}
  /** `node` on a PATH, resolved (symlinks followed) */
  findNode: (envPath: string) => string | undefined
  /** version of another node binary, e.g. "v18.19.0"; undefined when it does not run */
  versionOf: (node: string) => string | undefined
}

/** The PATH `sudo pausetrace` runs with, and where that answer came from. */
export function rootPath(f: Pick<NodeFacts, 'envPath' | 'euid' | 'sudoUser' | 'securePath'>): {path: string; source: string} {
  if (f.sudoUser) return {path: f.envPath, source: `set by sudo for ${f.sudoUser}`}
  if (f.securePath) return {path: f.securePath.path, source: `secure_path in ${f.securePath.file}`}
  if (f.euid === 0) return {path: f.envPath, source: 'the PATH of this root process'}
  return {path: USUAL_SECURE_PATH, source: "sudo's usual secure_path; the sudoers files are not readable"}
}

function newEnough(version: string | undefined): boolean {
  const m = /^v?(\d+)\.(\d+)/.exec(version ?? '')
  if (!m) return false
  const major = Number(m[1])
  return major > MIN_NODE.major || (major === MIN_NODE.major && Number(m[2]) >= MIN_NODE.minor)
}

/** Pure: the "node" check from the facts (see nodeFacts for the real ones). */
export function nodeCheck(f: NodeFacts): Check {
  const rp = rootPath(f)
  const running = `node ${f.version} (${f.execPath}) runs pausetrace`
  const fix = `run it as: sudo env "PATH=$PATH" pausetrace …  (sudo then keeps your PATH), or install Node.js ${MIN_NODE.major}.${MIN_NODE.minor}+ system-wide (a distribution or NodeSource package, in /usr/bin) so that root's PATH finds it`
  const forRoot = f.findNode(rp.path)
  if (!forRoot) {
    return {name: 'node', required: false, ok: false, fix,
      detail: `${running}, but root's PATH (${rp.path}; ${rp.source}) has no node: \`sudo pausetrace\` fails before it starts with "/usr/bin/env: 'node': No such file or directory"`}
  }
  if (forRoot === f.execPath) return {name: 'node', required: false, ok: true, detail: `${running}; \`sudo pausetrace\` finds the same node on root's PATH (${rp.source})`}
  const v = f.versionOf(forRoot)
  if (!newEnough(v)) {
    return {name: 'node', required: false, ok: false, fix,
      detail: `${running}, but root's PATH (${rp.path}; ${rp.source}) finds ${forRoot} (${v ?? 'it does not run'}): \`sudo pausetrace\` runs that one, and pausetrace needs ${MIN_NODE.major}.${MIN_NODE.minor} or newer`}
  }
  return {name: 'node', required: false, ok: true, detail: `${running}; \`sudo pausetrace\` finds ${forRoot} (${v}, new enough) on root's PATH (${rp.source})`}
}

/** The secure_path of /etc/sudoers and /etc/sudoers.d (readable by root only). */
export function readSecurePath(files?: string[]): {path: string; file: string} | undefined {
  let list = files
  if (!list) {
    list = ['/etc/sudoers']
    try {
      // sudo skips names with a "." or ending in "~" in its include directory
      list.push(...readdirSync('/etc/sudoers.d').filter((n) => !n.includes('.') && !n.endsWith('~')).sort().map((n) => `/etc/sudoers.d/${n}`))
    } catch {
      // no include directory
    }
  }
  let found: {path: string; file: string} | undefined
  for (const file of list) {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch {
      continue
    }
    for (const m of text.matchAll(/^[ \t]*Defaults[ \t]+secure_path[ \t]*=[ \t]*(?:"([^"\n]*)"|(\S+))/gm)) found = {path: m[1] ?? m[2], file}
  }
  return found
}

function resolved(p: string | undefined): string | undefined {
  if (!p) return undefined
  try {
    return realpathSync(p)
  } catch {
    return p
  }
}

export function nodeFacts(): NodeFacts {
  return {
    execPath: resolved(process.execPath) ?? process.execPath,
    version: process.version,
    envPath: process.env.PATH ?? '',
    euid: process.geteuid?.() ?? -1,
    sudoUser: process.env.SUDO_USER || undefined,
    securePath: readSecurePath(),
    findNode: (p) => resolved(findOnPath('node', p)),
    versionOf: (node) => {
      try {
        return execFileSync(node, ['--version'], {timeout: 5000, stdio: ['ignore', 'pipe', 'ignore']}).toString().trim()
      } catch {
        return undefined
      }
    },
  }
}

export function formatDoctor(r: DoctorReport): string {
  const lines = r.checks.map((c) => {
    const mark = c.ok ? 'ok  ' : c.required ? 'FAIL' : 'info'
    return `${mark} ${c.name.padEnd(10)} ${c.detail}${!c.ok && c.fix ? `\n                fix: ${c.fix}` : ''}`
  })
  lines.push(r.ok ? 'Tracing can work here.' : 'Tracing cannot work here until the failed checks are fixed.')
  return lines.join('\n')
}
