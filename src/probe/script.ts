// Builds the one bpftrace program pausetrace runs from the bpf/*.bt files: fills in the
// version syntax, the kernel's struct pid layout, the in-kernel filters and the flood limits.
// Only numbers validated here ever reach the program text.
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import path from 'node:path'

export const BPF_DIR = fileURLToPath(new URL('../../bpf/', import.meta.url))

export const SCRIPT_FILES = [
  'control.bt',
  'signal-syscalls.bt',
  'signal-generate.bt',
  'signal-deliver.bt',
  'exit.bt',
  'wait.bt',
  'fork-exec.bt',
] as const

export interface ScriptOptions {
  /** bpftrace 0.19+ accepts `args.x`; 0.17/0.18 need `args->x`. */
  argsDot: boolean
  /** `struct pid.numbers` is a flexible array (kernel ≥ 6.5) rather than `numbers[1]`. */
  pidFlexArray: boolean
  /** Host PIDs (thread-group ids) to keep: an event is kept when its actor is one of them. */
  pids?: number[]
  /** Signal numbers to keep (signal events and deliveries only). */
  signals?: number[]
  floodN?: number
  floodWindowNs?: number
}

export const DEFAULT_FLOOD_N = 64
export const DEFAULT_FLOOD_WINDOW_NS = 250_000_000

const ACTOR_VARS = [
  '$tp = curtask->thread_pid;',
  '$tu = (struct upid *)((uint64)$tp + @PIDOFF + (uint64)$tp->level * @UPIDSZ);',
  '$lp = curtask->group_leader->thread_pid;',
  '$lu = (struct upid *)((uint64)$lp + @PIDOFF + (uint64)$lp->level * @UPIDSZ);',
  '$nsp = curtask->nsproxy;',
].join(' ')

/** tid pid innerTid innerPid pidns level netns ipcns utsns mntns cgroupId ppid */
export const ACTOR_FIELD_COUNT = 12
const ACTOR_FMT = ' %d %d %d %d %u %d %u %u %u %u %llu %d'
const ACTOR_ARGS = [
  'tid', 'pid', '$tu->nr', '$lu->nr', '$tu->ns->ns.inum', '$tp->level',
  '$nsp->net_ns->ns.inum', '$nsp->ipc_ns->ns.inum', '$nsp->uts_ns->ns.inum', '$nsp->mnt_ns->ns.inum',
  'cgroup', 'curtask->real_parent->tgid',
].join(', ')

function checkedInts(values: number[] | undefined, what: string, max: number): number[] {
  for (const v of values ?? []) {
    if (!Number.isSafeInteger(v) || v < 0 || v > max) throw new RangeError(`${what} out of range: ${v}`)
  }
  return values ?? []
}

export function buildScript(opts: ScriptOptions): string {
  const pids = checkedInts(opts.pids, 'pid', 4_194_304)
  const signals = checkedInts(opts.signals, 'signal', 64)
  const floodN = checkedInts([opts.floodN ?? DEFAULT_FLOOD_N], 'flood count', 1_000_000)[0]
  const floodNs = checkedInts([opts.floodWindowNs ?? DEFAULT_FLOOD_WINDOW_NS], 'flood window', 60e9)[0]

  let filter = 'pid != $1 && @stop == 0'
  if (pids.length > 0) filter += ` && (${pids.map((p) => `pid == ${p}`).join(' || ')})`
  const sigFilter = (expr: string): string =>
    signals.length === 0 ? '1' : `(${signals.map((s) => `${expr} == ${s}`).join(' || ')})`

  const body = SCRIPT_FILES.map((f) => readFileSync(path.join(BPF_DIR, f), 'utf8')).join('\n')
  return body
    .replaceAll('@ACTOR_VARS', ACTOR_VARS)
    .replaceAll('@ACTOR_FMT', ACTOR_FMT)
    .replaceAll('@ACTOR_ARGS', ACTOR_ARGS)
    .replaceAll('@PIDOFF', opts.pidFlexArray ? 'sizeof(struct pid)' : '(sizeof(struct pid) - sizeof(struct upid))')
    .replaceAll('@UPIDSZ', 'sizeof(struct upid)')
    .replaceAll('@FILTER', `(${filter})`)
    .replace(/@SIGFILTER\(([^)]*)\)/g, (_m, expr: string) => sigFilter(expr))
    .replaceAll('@FLOOD_NS', String(floodNs))
    .replaceAll('@FLOOD_N', String(floodN))
    .replaceAll('@A', opts.argsDot ? 'args.' : 'args->')
}
