// Flags shared by the commands that trace or read events, and their validation into typed
// values (one clear usage error per bad value).
import {Flags} from '@oclif/core'
import parseDuration from 'parse-duration'
import bytes from 'bytes'
import {UsageError} from './errors.js'
import {parseSignal} from './events/names.js'
import type {Filters} from './events/filter.js'
import {parseMetricsAddress, type MetricsAddress} from './metrics/server.js'

export const filterFlags = {
  all: Flags.boolean({description: 'include processes outside any sandbox (default: sandboxes only)'}),
  pid: Flags.string({description: 'only events whose acting process is this host PID (repeatable)', multiple: true}),
  signal: Flags.string({description: 'only these signals, by name or number: TERM, SIGKILL, 15, RTMIN+3 (repeatable)', multiple: true}),
  pod: Flags.string({description: 'only events of the pod with this name (repeatable)', multiple: true}),
  namespace: Flags.string({description: 'only events of pods in this Kubernetes namespace (repeatable)', multiple: true}),
  sandbox: Flags.string({description: 'only events of this sandbox id, as `pods` shows it: netns:4026532177 (repeatable)', multiple: true}),
}

export const bpftraceFlag = {
  bpftrace: Flags.string({description: 'bpftrace binary or wrapper to run (default: $PAUSETRACE_BPFTRACE, else bpftrace on PATH)'}),
}

/** Views fold away the container runtime's own chatter (src/events/runtime-procs.ts) unless asked. */
export const runtimeNoiseFlag = {
  'runtime-noise': Flags.boolean({description: 'also show events among the container runtime\'s own processes (runc, containerd-shim, conmon, crun), folded away by default; trace files always keep them'}),
}

export const criSocketFlag = {
  'cri-socket': Flags.string({description: 'the container runtime\'s CRI socket (default: $PAUSETRACE_CRI_SOCKET, else containerd\'s, CRI-O\'s or cri-dockerd\'s at its standard path)', helpValue: 'PATH'}),
}

export const metricsFlags = {
  metrics: Flags.string({description: 'serve Prometheus metrics at http://ADDR/metrics while tracing: a port (127.0.0.1 only), or HOST:PORT (0.0.0.0:9479 for every interface); docs/metrics.md', helpValue: 'ADDR'}),
  'metrics-expiry': Flags.string({description: 'how long the series of a pod that went away stay (default 10m)', helpValue: 'DURATION', dependsOn: ['metrics']}),
}

/** --metrics and --metrics-expiry, checked (nothing is listened on here). */
export function parseMetricsFlags(flags: {metrics?: string; 'metrics-expiry'?: string}): {address: MetricsAddress; expiryMs: number} | undefined {
  if (flags.metrics === undefined) return undefined
  return {address: parseMetricsAddress(flags.metrics), expiryMs: flags['metrics-expiry'] === undefined ? 10 * 60_000 : parseDurationMs(flags['metrics-expiry'], '--metrics-expiry')}
}

/** The trace files a command reads (its arguments): at least one, no flag-like word, no stdin. */
export function traceFileArgs(argv: unknown[], command: string): string[] {
  const files = argv as string[]
  if (files.length === 0) throw new UsageError(`${command} needs a trace file: pausetrace ${command} FILE… (see --help)`)
  const flagLike = files.find((f) => f.startsWith('-') && f !== '-')
  if (flagLike) throw new UsageError(`${flagLike} is not a flag of ${command} (see --help)`)
  if (files.includes('-')) throw new UsageError(`${command} reads files, not standard input: give the trace file names.`)
  return files
}

export function parsePids(values: string[] | undefined): number[] {
  return (values ?? []).map((v) => {
    if (!/^\d+$/.test(v.trim()) || Number(v) < 1 || Number(v) > 4_194_304) throw new UsageError(`--pid ${JSON.stringify(v)} is not a PID (a whole number from 1 to 4194304).`)
    return Number(v)
  })
}

export function parseSignals(values: string[] | undefined): number[] {
  return (values ?? []).map((v) => {
    const n = parseSignal(v)
    if (n === undefined || n === 0) throw new UsageError(`--signal ${JSON.stringify(v)} is not a signal; use a name like TERM, SIGKILL, RTMIN+3 or a number from 1 to 64.`)
    return n
  })
}

const POD_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$/
const K8S_NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/
const SANDBOX_ID = /^(?:(?:netns|ipcns|utsns|pidns):\d{1,12}(?:~\d{1,6})?|host)$/

function validated(values: string[] | undefined, re: RegExp, flag: string, what: string): string[] {
  return (values ?? []).map((v) => {
    if (!re.test(v)) throw new UsageError(`${flag} ${JSON.stringify(v)} is not ${what}.`)
    return v
  })
}

export function parseFilters(flags: {all?: boolean; pid?: string[]; signal?: string[]; pod?: string[]; namespace?: string[]; sandbox?: string[]}): Filters {
  return {
    all: flags.all ?? false,
    pids: parsePids(flags.pid),
    signals: parseSignals(flags.signal),
    pods: validated(flags.pod, POD_NAME, '--pod', 'a pod name (letters, digits, ".", "_", "-"; up to 253)'),
    namespaces: validated(flags.namespace, K8S_NAMESPACE, '--namespace', 'a Kubernetes namespace name (lowercase letters, digits, "-"; up to 63)'),
    sandboxes: validated(flags.sandbox, SANDBOX_ID, '--sandbox', 'a sandbox id as `pausetrace pods` shows it (netns:NUMBER; ipcns:NUMBER for a hostNetwork pod; utsns: or pidns:NUMBER; ~N after it for a later sandbox in the same namespace)'),
  }
}

/** "30s", "5m", "1h30m", "250ms", or a bare number of seconds → milliseconds. */
export function parseDurationMs(text: string, flag: string): number {
  const s = text.trim()
  const ms = /^\d+(\.\d+)?$/.test(s) ? Number(s) * 1000 : parseDuration(s)
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms <= 0) throw new UsageError(`${flag} ${JSON.stringify(text)} is not a duration; use e.g. 30s, 5m, 1h or 1500ms.`)
  return ms
}

/** "10MB", "512k", "1GiB", or a bare number of bytes → bytes. */
export function parseSize(text: string, flag: string): number {
  const s = text.trim()
  const n = /^\d+$/.test(s) ? Number(s) : bytes.parse(s)
  if (n === null || !Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} ${JSON.stringify(text)} is not a size; use e.g. 10MB, 512KB or 1GB.`)
  return n
}

/**
 * The filters of commands that read trace files. `--all` there is the default: a file holds only
 * what its recording's scope let in; `--no-all` keeps the events that involve a sandbox.
 */
export const traceFilterFlags = {
  // Non-greedy: `replay --pid 5 a.jsonl b.jsonl` takes the files as files, not as more PIDs.
  pid: Flags.string({description: filterFlags.pid.description, multiple: true, multipleNonGreedy: true}),
  signal: Flags.string({description: filterFlags.signal.description, multiple: true, multipleNonGreedy: true}),
  pod: Flags.string({description: filterFlags.pod.description, multiple: true, multipleNonGreedy: true}),
  namespace: Flags.string({description: filterFlags.namespace.description, multiple: true, multipleNonGreedy: true}),
  sandbox: Flags.string({description: filterFlags.sandbox.description, multiple: true, multipleNonGreedy: true}),
  all: Flags.boolean({
    description: "keep every event the file holds (the default: the recording's scope already chose); --no-all keeps only events with a process in a sandbox",
    allowNo: true,
  }),
}

/** Typed trace-reading filters: the live ones, validated the same way, plus the file scope. */
export function parseTraceFilters(flags: {all?: boolean; pid?: string[]; signal?: string[]; pod?: string[]; namespace?: string[]; sandbox?: string[]}): Filters {
  return {...parseFilters(flags), scope: flags.all === false ? 'sandboxes' : 'file'}
}

/** "2", "0.5", "10x"; 0 = as fast as possible. */
export function parseSpeed(text: string): number {
  const m = /^(\d+(?:\.\d+)?|\.\d+)x?$/i.exec(text.trim())
  const n = m ? Number(m[1]) : NaN
  if (!Number.isFinite(n) || n < 0 || n > 1_000_000) throw new UsageError(`--speed ${JSON.stringify(text)} is not a speed; use a factor of real time such as 1, 2, 0.5, or 0 for as fast as possible.`)
  return n
}
