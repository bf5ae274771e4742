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
  /** What to trace: everything, the tasks of some PIDs, or sandboxes (the default). */
  scope: Scope
  /** Signal numbers to keep (signal events and deliveries only). */
  signals?: number[]
  floodN?: number
  floodWindowNs?: number
}

/**
 * - all: every task on the node;
 * - pids: events whose actor's thread group is one of these host PIDs, or whose target task is;
 * - sandboxes: events whose actor is in a sandbox (a net namespace other than the host's, or a
 *   PID namespace below the host's), or whose target task is (tasks known at the start are
 *   seeded; tasks forked or exec'd in a sandbox are added as they appear). $2 = the host netns.
 */
export type Scope = {kind: 'all'} | {kind: 'pids'; pids: number[]} | {kind: 'sandboxes'; seed: number[]}

export const MAX_SEED = 20_000

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
  const scope = opts.scope
  const pids = scope.kind === 'pids' ? checkedInts(scope.pids, 'pid', 4_194_304) : []
  const seed = scope.kind === 'sandboxes' ? checkedInts(scope.seed.slice(0, MAX_SEED), 'pid', 4_194_304) : []
  const signals = checkedInts(opts.signals, 'signal', 64)
  const floodN = checkedInts([opts.floodN ?? DEFAULT_FLOOD_N], 'flood count', 1_000_000)[0]
  const floodNs = checkedInts([opts.floodWindowNs ?? DEFAULT_FLOOD_WINDOW_NS], 'flood window', 60e9)[0]

  const any = '(pid != $1 && @stop == 0)'
  const sbx = scope.kind === 'sandboxes'
  const actorScope =
    scope.kind === 'all' ? '1'
      : scope.kind === 'pids' ? `(${pids.map((p) => `pid == ${p}`).join(' || ') || '0'})`
        : '(@sbx[tid] || (curtask->nsproxy != 0 && curtask->nsproxy->net_ns->ns.inum != $2) || curtask->thread_pid->level > 0)'
  const targetScope = (expr: string): string =>
    scope.kind === 'all' ? '1' : scope.kind === 'pids' ? `(${pids.map((p) => `${expr} == ${p}`).join(' || ') || '0'})` : `@sbx[${expr}]`
  const sigFilter = (expr: string): string =>
    signals.length === 0 ? '1' : `(${signals.map((s) => `${expr} == ${s}`).join(' || ')})`

  const body = SCRIPT_FILES.map((f) => readFileSync(path.join(BPF_DIR, f), 'utf8')).join('\n')
  return body
    .replaceAll('@ACTOR_VARS', ACTOR_VARS)
    .replaceAll('@ACTOR_FMT', ACTOR_FMT)
    .replaceAll('@ACTOR_ARGS', ACTOR_ARGS)
    .replaceAll('@PIDOFF', opts.pidFlexArray ? 'sizeof(struct pid)' : '(sizeof(struct pid) - sizeof(struct upid))')
    .replaceAll('@UPIDSZ', 'sizeof(struct upid)')
    .replaceAll('@FILTER', `(${any} && ${actorScope})`)
    .replaceAll('@ANY', any)
    .replaceAll('@SCOPE', actorScope)
    .replaceAll('@SBX_SEED', sbx ? seed.map((p) => `@sbx[${p}] = 1;`).join(' ') || '@sbx[0] = 0;' : '')
    .replaceAll('@SBX_CLEAR', sbx ? 'clear(@sbx);' : '')
    .replace(/@SBX_ADD\(([^)]*)\)/g, (_m, expr: string) => (sbx ? `@sbx[${expr}] = 1;` : ''))
    .replace(/@SBX_DEL\(([^)]*)\)/g, (_m, expr: string) => (sbx ? `delete(@sbx[${expr}]);` : ''))
    .replace(/@TSCOPE\(((?:[^()]|\([^()]*\))*)\)/g, (_m, expr: string) => targetScope(expr))
    .replace(/@SIGFILTER\(([^)]*)\)/g, (_m, expr: string) => sigFilter(expr))
    .replaceAll('@FLOOD_NS', String(floodNs))
    .replaceAll('@FLOOD_N', String(floodN))
    .replaceAll('@A', opts.argsDot ? 'args.' : 'args->')
}
