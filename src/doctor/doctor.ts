// `doctor`: every check tracing depends on, each with what was found and, when it fails, the
// fix. The probe check starts the real program and stops it, so "ok" means a trace will attach.
import {hasBtf, hasTracingPrivileges, tracefsPath} from '../probe/environment.js'
import {bpftraceInfo, type BpftraceInfo} from '../probe/bpftrace.js'
import {TraceSession} from '../record/session.js'
import {findOnPath} from '../util/which.js'

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
  bpftrace: {command: string; version: string; source: string} | null
  checks: Check[]
}

export async function runDoctor(opts: {bpftrace?: string} = {}): Promise<DoctorReport> {
  const checks: Check[] = []
  const root = hasTracingPrivileges()
  checks.push({
    name: 'privileges', required: true, ok: root,
    detail: root ? (process.geteuid?.() === 0 ? 'running as root' : 'CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE present') : `running as uid ${process.geteuid?.()} without the capabilities`,
    fix: root ? undefined : 'run it with sudo (or grant CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE)',
  })
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
  const runtimes = ['podman', 'crictl', 'containerd', 'crio'].filter((c) => findOnPath(c))
  checks.push({name: 'runtimes', required: false, ok: runtimes.length > 0, detail: runtimes.length > 0 ? `found: ${runtimes.join(', ')}` : 'no container runtime found (pausetrace still traces bare namespaces)'})
  return {ok: checks.every((c) => c.ok || !c.required), bpftrace: info ? {command: info.command, version: info.version, source: info.source} : null, checks}
}

export function formatDoctor(r: DoctorReport): string {
  const lines = r.checks.map((c) => {
    const mark = c.ok ? 'ok  ' : c.required ? 'FAIL' : 'info'
    return `${mark} ${c.name.padEnd(10)} ${c.detail}${!c.ok && c.fix ? `\n                fix: ${c.fix}` : ''}`
  })
  lines.push(r.ok ? 'Tracing can work here.' : 'Tracing cannot work here until the failed checks are fixed.')
  return lines.join('\n')
}
