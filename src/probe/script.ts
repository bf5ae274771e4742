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
  /** read a signal's target task in the kernel through rawtracepoint:signal_generate (bpftrace 0.18+) */
  rawSignalGenerate?: boolean
  /** rawtracepoint:signal_deliver instead of the tracepoint (bpftrace 0.18+; default: as rawSignalGenerate) */
  rawSignalDeliver?: boolean
  /** What to trace: everything, the tasks of some PIDs, or sandboxes (the default). */
  scope: Scope
  /** Signal numbers to keep (signal events and deliveries only). */
  signals?: number[]
  floodN?: number
  floodWindowNs?: number
  /**
   * The online CPUs' numbers (/sys/devices/system/cpu/online): the heartbeat is printed only when
   * one of them printed a line since the last; without them, every 100 ms.
   */
  cpus?: number[]
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

/** the actor's fields: tid pid innerTid innerPid pidns level netns ipcns utsns mntns cgroupId ppid */
const ACTOR_FMT = ' %d %d %d %d %u %d %u %u %u %u %llu %d'
const ACTOR_ARGS = [
  'tid', 'pid', '$tu->nr', '$lu->nr', '$tu->ns->ns.inum', '$tp->level',
  '$nsp->net_ns->ns.inum', '$nsp->ipc_ns->ns.inum', '$nsp->uts_ns->ns.inum', '$nsp->mnt_ns->ns.inum',
  'cgroup', 'curtask->real_parent->tgid',
].join(', ')

/**
 * The default scope's verdict on a task (in a sandbox or not), cached in @v[tid] as
 * (start_time << 1) | in: one lookup and one read instead of reading the PID level and the net
 * namespace and looking the TID up in @sbx in every probe. The start time makes an entry of an
 * earlier task with the same TID (an exit not seen, a non-leader thread's exec) a miss; exits
 * delete entries (V_FORGET), setns/unshare drop the caller's (V_PROBES: its namespaces changed).
 * A task that joins @sbx later is already in scope (its fork/exec is traced) or new (no entry).
 * `$task` (an expression of type struct task_struct *) and `key` name the task; sets `$out`.
 */
function cachedVerdict(task: string, key: string, out: string, p: string): string {
  return [
    `$${p}st = (int64)${task}->start_time;`,
    `$${p}v = @v[${key}];`,
    `if (($${p}v >> 1) != $${p}st) {`,
    `$${p}v = $${p}st << 1;`,
    `if (${task}->thread_pid->level > 0 || (${task}->nsproxy != 0 && ${task}->nsproxy->net_ns->ns.inum != $2) || @sbx[${key}]) { $${p}v = $${p}v | 1; }`,
    `@v[${key}] = $${p}v;`,
    '}',
    `${out} = $${p}v & 1;`,
  ].join(' ')
}

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
  if (floodN < 1) throw new RangeError('flood count must be at least 1')
  const floodNs = checkedInts([opts.floodWindowNs ?? DEFAULT_FLOOD_WINDOW_NS], 'flood window', 60e9)[0]
  const cpus = checkedInts(opts.cpus, 'cpu', 8191)

  // not pausetrace itself; the program has not been asked to stop
  const self = 'pid != $1'
  const live = '@stop == 0'
  const any = `(${self} && ${live})`
  const sbx = scope.kind === 'sandboxes'
  const actorScope =
    scope.kind === 'all' ? '1'
      : scope.kind === 'pids' ? `(${pids.map((p) => `pid == ${p}`).join(' || ') || '0'})`
        : '(curtask->thread_pid->level > 0 || (curtask->nsproxy != 0 && curtask->nsproxy->net_ns->ns.inum != $2) || @sbx[tid])'
  // statements setting $in: the acting task is in scope
  const actorIn = scope.kind === 'sandboxes' ? cachedVerdict('curtask', 'tid', '$in', 'a') : `$in = ${actorScope};`
  const targetScope = (expr: string): string =>
    scope.kind === 'all' ? '1' : scope.kind === 'pids' ? `(${pids.map((p) => `${expr} == ${p}`).join(' || ') || '0'})` : `@sbx[${expr}]`
  const sigFilter = (expr: string): string =>
    signals.length === 0 ? '1' : `(${signals.map((s) => `${expr} == ${s}`).join(' || ')})`

  const T = '((struct task_struct *)arg2)'
  const gen = opts.rawSignalGenerate
    ? {
        probe: 'rawtracepoint:signal_generate',
        sig: '(int32)arg0',
        code: '$gc',
        result: '(int32)arg4',
        group: '(int32)arg3',
        ttid: `${T}->pid`,
        tcomm: `${T}->comm`,
        tvars: [
          // info is a real siginfo, or SEND_SIG_NOINFO (0: SI_USER) / SEND_SIG_PRIV (1: SI_KERNEL).
          // (No ternary around the read: bpftrace 0.23.2 crashes compiling one.)
          '$gc = (int64)0;',
          'if (arg1 == 1) { $gc = 128; }',
          'if (arg1 > 1) { $gc = (int64)*(int32 *)(arg1 + 8); }',
          `$t = ${T};`,
          '$ttp = $t->thread_pid;',
          '$ttu = (struct upid *)((uint64)$ttp + @PIDOFF + (uint64)$ttp->level * @UPIDSZ);',
          '$tlp = $t->group_leader->thread_pid;',
          '$tlu = (struct upid *)((uint64)$tlp + @PIDOFF + (uint64)$tlp->level * @UPIDSZ);',
          '$tns = $t->nsproxy;',
        ].join(' '),
        tfields: '$t->tgid, $ttu->nr, $tlu->nr, $ttu->ns->ns.inum, $ttp->level, $tns->net_ns->ns.inum, $tns->ipc_ns->ns.inum, $tns->uts_ns->ns.inum, $tns->mnt_ns->ns.inum',
        // the target is in a sandbox: a net namespace other than the host's, or a PID namespace below it
        tinscope: `((${T}->nsproxy != 0 && ${T}->nsproxy->net_ns->ns.inum != $2) || ${T}->thread_pid->level > 0)`,
        // the default scope: the target's cached verdict (the same cache as the actor's)
        tin: scope.kind === 'sandboxes' ? `$tt = ${T}; ${cachedVerdict('$tt', '$tt->pid', '$tin', 't')}` : undefined,
      }
    : {
        probe: 'tracepoint:signal:signal_generate', sig: '@Asig', code: '@Acode', result: '@Aresult', group: '@Agroup', ttid: '@Apid', tcomm: '@Acomm',
        tvars: '', tfields: '0, 0, 0, 0, 0, 0, 0, 0, 0', tinscope: '0', tin: undefined,
      }
  const rawDeliver = opts.rawSignalDeliver ?? opts.rawSignalGenerate ?? false
  // signal_deliver(int sig, struct kernel_siginfo *info, struct k_sigaction *ka): si_code at +8, sa_handler at +0
  const del = rawDeliver
    ? {probe: 'rawtracepoint:signal_deliver', sig: '(int32)arg0', code: '(int32)*(int32 *)(arg1 + 8)', handler: '*(uint64 *)arg2'}
    : {probe: 'tracepoint:signal:signal_deliver', sig: '@Asig', code: '@Acode', handler: '@Asa_handler'}

  const body = SCRIPT_FILES.map((f) => readFileSync(path.join(BPF_DIR, f), 'utf8')).join('\n')
  let text = body
    .replaceAll('@G_PROBE', gen.probe)
    .replaceAll('@G_SIG', gen.sig)
    .replaceAll('@G_CODE', gen.code)
    .replaceAll('@G_RESULT', gen.result)
    .replaceAll('@G_GROUP', gen.group)
    .replaceAll('@G_TTID', gen.ttid)
    .replaceAll('@G_TCOMM', gen.tcomm)
    .replaceAll('@G_TVARS', gen.tvars)
    .replaceAll('@G_TFIELDS', gen.tfields)
    .replaceAll('@G_TINSCOPE', scope.kind === 'sandboxes' ? gen.tinscope : '0')
    .replaceAll('@G_TIN', gen.tin ?? `$tin = @TSCOPE(${gen.ttid});`)
    .replaceAll('@D_PROBE', del.probe)
    .replaceAll('@D_SIG', del.sig)
    .replaceAll('@D_CODE', del.code)
    .replaceAll('@D_HANDLER', del.handler)
    .replaceAll('@ACTOR_IN', actorIn)
    .replaceAll('@V_FORGET', sbx ? 'delete(@v[tid]);' : '')
    .replaceAll('@V_PROBES', sbx ? 'tracepoint:syscalls:sys_exit_setns, tracepoint:syscalls:sys_exit_unshare { delete(@v[tid]); }' : '')
    .replaceAll('@G_SBX_ADD', scope.kind === 'sandboxes' && opts.rawSignalGenerate ? `if (${gen.tinscope}) { @sbx[${gen.ttid}] = 1; }` : '')
    .replaceAll('@ACTOR_VARS', ACTOR_VARS)
    .replaceAll('@ACTOR_FMT', ACTOR_FMT)
    .replaceAll('@ACTOR_ARGS', ACTOR_ARGS)
    .replaceAll('@PIDOFF', opts.pidFlexArray ? 'sizeof(struct pid)' : '(sizeof(struct pid) - sizeof(struct upid))')
    .replaceAll('@UPIDSZ', 'sizeof(struct upid)')
    // the scope before the stop flag: an event out of scope costs no map lookup for it
    .replaceAll('@FILTER', `(${self} && ${actorScope} && ${live})`)
    .replaceAll('@ANY', any)
    .replaceAll('@SELF', self)
    .replaceAll('@LIVE', live)
    .replaceAll('@SCOPE', actorScope)
    .replaceAll('@SBX_SEED', sbx ? seed.map((p) => `@sbx[${p}] = 1;`).join(' ') || '@sbx[0] = 0;' : '')
    .replaceAll('@SBX_CLEAR', sbx ? 'clear(@sbx); clear(@v);' : '')
    // after each printed line: its time, for the time order across CPUs (control.bt)
    .replaceAll('@MARK', '@lp[cpu] = $now % 1000000000000000;')
    // a sum that changes whenever a CPU prints (each @lp only grows, but at the wrap every 11.6 days); `@ls + 1` when the CPUs are not known
    .replaceAll('@LP_SUM', cpus.length > 0 ? cpus.map((c) => `(uint64)@lp[${c}]`).join(' + ') : '@ls + 1')
    .replaceAll('@HEARTBEAT', heartbeat(cpus))
  text = replaceCalls(text, '@SBX_ADD', (expr) => (sbx ? `@sbx[${expr}] = 1;` : ''))
  text = replaceCalls(text, '@SBX_DEL', (expr) => (sbx ? `delete(@sbx[${expr}]);` : ''))
  // Whether a signal syscall may concern the scope, judged at its enter after ACTOR_IN: KSCOPE(target,
  // second target or 0, whether a target <= 0 names a group). Runs before @TSCOPE is expanded.
  text = replaceCalls(text, '@KSCOPE', (args) => {
    if (scope.kind === 'all') return '1'
    const [a, b, group] = args.split(',').map((x) => x.trim())
    const parts = ['$in', `@TSCOPE(${a})`]
    if (b !== '0') parts.push(`@TSCOPE(${b})`)
    if (group === '1') parts.push(`${a} <= 0`)
    return `(${parts.join(' || ')})`
  })
  text = replaceCalls(text, '@TSCOPE', targetScope)
  text = replaceCalls(text, '@SIGFILTER', sigFilter)
  return text
    .replaceAll('@FLOOD_NS', String(floodNs))
    .replaceAll('@FLOOD_N', String(floodN))
    .replaceAll('@A', opts.argsDot ? 'args.' : 'args->')
}

/** CPUs per heartbeat line: 16 times and their CPU numbers keep a printf's arguments well inside the BPF stack. */
const HEARTBEAT_CPUS_PER_LINE = 16

/**
 * The heartbeat's printf statements (bpf/control.bt; `$h` is its time): `H <ns> <last> <cpu> <time> ...`,
 * each online CPU's @lp, 16 to a line, last = 1 on the final line. Without the CPUs: `H <ns>` and the map.
 */
function heartbeat(cpus: number[]): string {
  if (cpus.length === 0) return 'printf("H %llu\\n", $h); print(@lp);'
  const lines: string[] = []
  for (let i = 0; i < cpus.length; i += HEARTBEAT_CPUS_PER_LINE) {
    const chunk = cpus.slice(i, i + HEARTBEAT_CPUS_PER_LINE)
    const last = i + HEARTBEAT_CPUS_PER_LINE >= cpus.length ? 1 : 0
    lines.push(`printf("H %llu ${last}${chunk.map((c) => ` ${c} %llu`).join('')}\\n", $h, ${chunk.map((c) => `(uint64)@lp[${c}]`).join(', ')});`)
  }
  return lines.join(' ')
}

/** Replaces each `NAME(arg)` with fn(arg), the argument running to the matching parenthesis. */
function replaceCalls(text: string, name: string, fn: (arg: string) => string): string {
  let out = ''
  let pos = 0
  for (;;) {
    const at = text.indexOf(`${name}(`, pos)
    if (at === -1) return out + text.slice(pos)
    let depth = 0
    let end = at + name.length
    for (; end < text.length; end++) {
      if (text[end] === '(') depth++
      else if (text[end] === ')' && --depth === 0) break
    }
    out += text.slice(pos, at) + fn(text.slice(at + name.length + 1, end))
    pos = end + 1
  }
}
