// The pausetrace benchmark (issue 7). In one run, side by side: each workload untraced, under bare
// bpftrace run exactly as pausetrace runs it (the live pipeline's own plan: program, command line
// and environment, scope all; its own stop protocol; stdout to a file), and under
// `pausetrace record` (bin/run.js). Slowdown ratios, events accounted for against the workloads'
// known counts, lost events, CPU of pausetrace and of its bpftrace (wait4 rusage through
// bench/workloads/statwrap.c), peak RSS, time to "attached", replay speed. Prints a table with
// every figure next to its goal and writes bench/results.json.
//
//   sudo npx tsx bench/run.ts [--size small|full] [--repeat N] [--only flood,churn,...] [--out FILE] [--keep]
//
// Two cores, shared with other people's tests: every ratio pairs samples taken next to each
// other, the variant order rotates per repeat, ratios are medians, and each sample notes the
// load and any bpftrace/podman that was not ours (after waiting a while for them to go away).
import {execFileSync} from 'node:child_process'
import {closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {readStat as procStat} from '../src/proc/read.js'
import os from 'node:os'
import {StringDecoder} from 'node:string_decoder'
import path from 'node:path'
import {pathToFileURL} from 'node:url'
import * as srcPlan from '../src/live/plan.js'
import * as srcRunner from '../src/probe/runner.js'
import {bpftraceInfo, type BpftraceInfo} from '../src/probe/bpftrace.js'
import {accountTrace, BareTail, type Accounting, type BareCount, type Manifest} from './lib/accounting.js'
import {childrenOf, commOf, cpuMs, foreignTracers, killAll, loadAvg, median, sleep, start, vmHwmKb, waitFor, type Proc} from './lib/proc.js'

import {BENCH, BUILD, ROOT, compile} from './lib/compile.js'
export {BENCH, BUILD, ROOT}

// ---------------------------------------------------------------------------------------------
// sizes and goals

export type Size = 'small' | 'full'

export interface Params {
  flood: number
  churn: number
  sandboxes: {n: number; churn: number; flood: number; noiseFlood: number; noiseChurn: number}
  million: {churn: number; checks: number}
  repeat: number
}

export const SIZES: Record<Size, Params> = {
  small: {flood: 20_000, churn: 1_000, sandboxes: {n: 4, churn: 50, flood: 500, noiseFlood: 20_000, noiseChurn: 300}, million: {churn: 1_000, checks: 1_000}, repeat: 1},
  full: {flood: 200_000, churn: 20_000, sandboxes: {n: 20, churn: 500, flood: 5_000, noiseFlood: 200_000, noiseChurn: 5_000}, million: {churn: 150_000, checks: 400_000}, repeat: 3},
}

export const SCENARIOS = ['flood', 'churn', 'sandboxes', 'million'] as const
export type ScenarioName = (typeof SCENARIOS)[number]

export const GOALS = {
  floodInScope: 1.5,
  floodHostDefault: 1.1,
  churnVsBare: 1.1,
  replayVsParse: 3,
  recordRssMb: 200,
  watchRssMb: 300,
  attachVsBare: 1.5,
}

/** Issue 17's goals (round two), printed next to issue 7's. */
export const GOALS_17 = {
  nodeUsPerEvent: 10,
  recordVsBareMillion: 1.1,
  watchVsRecordCpu: 1.5,
  outOfOrder: 0,
  attachVsBare: 1.0,
}

// ---------------------------------------------------------------------------------------------
// building the workloads

export interface Tools {
  benchwork: string
  statwrap: string
  /** statwrap under the name `bpftrace`: pausetrace's --bpftrace, reporting its child's rusage */
  bpftraceWrap: string
}


export function buildTools(): Tools {
  mkdirSync(path.join(BUILD, 'wrap'), {recursive: true})
  const benchwork = compile('benchwork')
  const statwrap = compile('statwrap')
  const bpftraceWrap = path.join(BUILD, 'wrap', 'bpftrace')
  if (!existsSync(bpftraceWrap)) symlinkSync('../statwrap', bpftraceWrap)
  return {benchwork, statwrap, bpftraceWrap}
}

// ---------------------------------------------------------------------------------------------
// the code under test

export interface CodeSnapshot {
  dir: string
  /** bin/run.js of the copy */
  cli: string
  commit: string
  /** uncommitted changes under src/, bpf/, bin/ when the copy was taken */
  dirty: string[]
  /** the newest file of dist/ */
  distBuiltAt: string
  /** src files changed after their dist file was built (not in the code under test) */
  staleDist: string[]
  /** the copy's plan of its bpftrace run (program, command line, environment): bare bpftrace runs exactly it */
  planTrace: typeof srcPlan.planTrace
  /** the copy's command line builder and stop protocol, for bare bpftrace */
  bpftraceArgs: typeof srcRunner.bpftraceArgs
  stopBpftrace: typeof srcRunner.stopBpftrace
  stopStepMs: number
  hasWatch: boolean
}

function walk(dir: string, ext: string): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir, {withFileTypes: true})) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...walk(p, ext))
    else if (e.name.endsWith(ext)) out.push(p)
  }
  return out
}

/**
 * Copies bin/, dist/, bpf/ and package.json (node_modules linked) to a temporary directory, so
 * that the whole run measures one build even when others rebuild dist/ meanwhile.
 */
export async function snapshotCode(): Promise<CodeSnapshot> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-bench-code-'))
  for (const d of ['bin', 'dist', 'bpf']) cpSync(path.join(ROOT, d), path.join(dir, d), {recursive: true})
  for (const f of ['package.json', 'oclif.manifest.json']) if (existsSync(path.join(ROOT, f))) cpSync(path.join(ROOT, f), path.join(dir, f))
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'))
  const cli = path.join(dir, 'bin/run.js')
  execFileSync(process.execPath, [cli, '--version'], {stdio: 'ignore', cwd: dir})
  const dist = walk(path.join(dir, 'dist'), '.js')
  const distBuiltAt = new Date(Math.max(...dist.map((f) => statSync(f).mtimeMs))).toISOString()
  const staleDist: string[] = []
  for (const src of walk(path.join(ROOT, 'src'), '.ts')) {
    const rel = path.relative(path.join(ROOT, 'src'), src).replace(/\.tsx?$/, '.js')
    const built = path.join(ROOT, 'dist', rel)
    if (!existsSync(built) || statSync(built).mtimeMs < statSync(src).mtimeMs) staleDist.push(path.relative(ROOT, src))
  }
  const plan = (await import(pathToFileURL(path.join(dir, 'dist/live/plan.js')).href)) as typeof srcPlan
  const runner = (await import(pathToFileURL(path.join(dir, 'dist/probe/runner.js')).href)) as typeof srcRunner
  return {
    dir, cli, ...gitState(), distBuiltAt, staleDist, hasWatch: existsSync(path.join(dir, 'dist/commands/watch.js')),
    planTrace: plan.planTrace, bpftraceArgs: runner.bpftraceArgs, stopBpftrace: runner.stopBpftrace, stopStepMs: runner.STOP_STEP_MS,
  }
}

// ---------------------------------------------------------------------------------------------
// one sample

export type Variant = 'untraced' | 'bare' | 'record-all' | 'record-default' | 'watch-tty'

export interface Rusage {
  userUs: number
  sysUs: number
  maxRssKb: number
  code: number
  signal: number
}

export interface Sample {
  scenario: ScenarioName
  variant: Variant
  repeat: number
  manifest: Manifest
  /** the workload's own measured time (CLOCK_MONOTONIC around its loop) */
  workloadMs: number
  /** the workload's CPU (self + reaped children), µs */
  workloadCpuUs: number
  attachMs?: number
  stopMs?: number
  bpftrace?: Rusage
  /** pausetrace's node process alone: its wait4 rusage minus its bpftrace's; startupCpuMs: by the time of "attached" */
  node?: {cpuMs: number; startupCpuMs?: number; peakRssMb: number}
  bpftraceCpuMs?: number
  /** bpftrace's CPU by the time of "attached" (compiling and loading the program), from /proc */
  bpftraceStartupCpuMs?: number
  accounting?: Accounting
  bare?: BareCount
  summary?: string
  traceFile?: string
  traceBytes?: number
  load: number[]
  /** bpftrace/podman processes of other people seen during the sample */
  foreign: string[]
  /** 1 + how many disturbed attempts were thrown away */
  attempts?: number
  /** the sample failed: why */
  error?: string
}

export interface Ctx {
  tools: Tools
  info: BpftraceInfo
  dir: string
  log: (s: string) => void
  quietWaitMs: number
  /** how many times a disturbed sample is taken again */
  retries: number
  seq: number
  /** the code under test: a copy of bin/, dist/, bpf/ taken at the start (others rebuild dist meanwhile) */
  code: CodeSnapshot
  /** our processes that are not our descendants (tmux servers) */
  roots: Set<number>
}

function readStat(file: string): Rusage[] {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Rusage & {argc: number}).filter((r) => r.argc > 2)
}

/**
 * Waits (up to quietWaitMs) until no bpftrace/podman of someone else has run for 3 s; returns what
 * still runs.
 */
export async function quiet(ctx: Ctx): Promise<string[]> {
  if (ctx.quietWaitMs <= 0) return foreignTracers(ctx.roots)
  const end = Date.now() + ctx.quietWaitMs
  let calmSince = Date.now()
  for (;;) {
    const f = foreignTracers(ctx.roots)
    if (f.length > 0) calmSince = Date.now()
    else if (Date.now() - calmSince >= 3000) return f
    if (Date.now() > end) return f
    await sleep(250)
  }
}

function parseManifest(p: Proc): Manifest {
  const line = p.stdout().trim().split('\n').at(-1) ?? ''
  try {
    return JSON.parse(line) as Manifest
  } catch {
    throw new Error(`workload printed no manifest (stdout ${JSON.stringify(p.stdout().slice(0, 200))}, stderr ${JSON.stringify(p.stderr().slice(0, 200))})`)
  }
}

export async function runWorkload(ctx: Ctx, args: string[]): Promise<Manifest> {
  const p = start(ctx.tools.benchwork, args)
  const {code} = await p.exited
  const m = parseManifest(p)
  if (code !== 0 || m.ok !== true) throw new Error(`workload ${args.join(' ')} failed (exit ${code}): ${p.stderr().trim()}`)
  return m
}

/** Reads what a growing file holds past `offset`. */
function readFrom(file: string, offset: number): Buffer {
  let fd: number
  try {
    fd = openSync(file, 'r')
  } catch {
    return Buffer.alloc(0)
  }
  try {
    const chunks: Buffer[] = []
    const buf = Buffer.alloc(1 << 20)
    for (let pos = offset; ; ) {
      const n = readSync(fd, buf, 0, buf.length, pos)
      if (n <= 0) break
      chunks.push(Buffer.from(buf.subarray(0, n)))
      pos += n
    }
    return Buffer.concat(chunks)
  } finally {
    closeSync(fd)
  }
}

class Tail {
  private offset = 0
  private decoder = new StringDecoder('utf8')
  constructor(private readonly file: string) {}
  /** the text added since the last read (may end mid-line; BareTail keeps the rest) */
  read(): string {
    const bytes = readFrom(this.file, this.offset)
    this.offset += bytes.length
    return this.decoder.write(bytes)
  }
}

function workloadTimes(m: Manifest): {workloadMs: number; workloadCpuUs: number} {
  return {workloadMs: m.ns / 1e6, workloadCpuUs: (m.cpuSelfUs ?? 0) + (m.cpuChildrenUs ?? 0)}
}

async function sampleUntraced(ctx: Ctx, base: Omit<Sample, 'manifest' | 'workloadMs' | 'workloadCpuUs'>, args: string[]): Promise<Sample> {
  const m = await runWorkload(ctx, args)
  return {...base, manifest: m, ...workloadTimes(m)}
}

/** The program pausetrace would run here, for a scope (in the default scope, with no sandbox running yet). */
export function programFor(info: BpftraceInfo, scope: 'all' | 'sandboxes', planTrace = srcPlan.planTrace): string {
  const plan = planTrace({bpftrace: info, filters: {all: scope === 'all', pids: [], signals: []}, sandboxSeed: []})
  plan.cleanup()
  return plan.program
}

export type BaseSample = Omit<Sample, 'manifest' | 'workloadMs' | 'workloadCpuUs'>

/**
 * bpftrace alone. Default: pausetrace's own plan with scope all (its program, command line and
 * environment), stopped by pausetrace's own stop protocol (two kill(self, 0) around reading up to
 * the kernel's counts, then SIGINT, SIGINT, SIGKILL). With `program` (which must print a line
 * starting with "P " from BEGIN): that program in the same command line (its options before the
 * program: `extraArgs`, default the plan's), stopped with SIGINT.
 */
/** Runs the workload under a bare bpftrace (its PID given); the default just runs it. */
export type AroundWorkload = (bpftracePid: number | undefined, run: () => Promise<Manifest>) => Promise<Manifest>

export async function sampleBare(ctx: Ctx, base: BaseSample, args: string[], program?: string, extraArgs?: string[], around?: AroundWorkload): Promise<Sample> {
  const {code} = ctx
  const twoStep = program === undefined
  const plan = code.planTrace({bpftrace: ctx.info, filters: {all: true, pids: [], signals: []}})
  // $1 is this process: the program's stop trigger and watchdog key on it, as on pausetrace's
  const argv = program === undefined ? plan.args : code.bpftraceArgs({program, params: plan.params, extraArgs: extraArgs ?? plan.extraArgs})
  const id = `${base.scenario}-bare-${base.repeat}-${ctx.seq++}`
  const outFile = path.join(ctx.dir, `${id}.bt.jsonl`)
  const statFile = path.join(ctx.dir, `${id}.stat`)
  const fd = openSync(outFile, 'w', 0o600)
  const t0 = performance.now()
  const bt = start(ctx.tools.statwrap, [statFile, plan.command, ...argv], {env: plan.env, stdio: ['ignore', fd, 'pipe']})
  closeSync(fd)
  try {
    return await measureBare(ctx, base, args, {bt, outFile, statFile, t0, twoStep, around})
  } finally {
    plan.cleanup()
  }
}

async function measureBare(ctx: Ctx, base: BaseSample, args: string[], o: {bt: Proc; outFile: string; statFile: string; t0: number; twoStep: boolean; around?: AroundWorkload}): Promise<Sample> {
  const {bt, outFile, statFile, t0, twoStep, around} = o
  const tail = new Tail(outFile)
  const count = new BareTail()
  const attached = await waitFor(() => {
    count.push(tail.read())
    return count.marker || bt.done
  }, 120_000)
  const attachMs = performance.now() - t0
  if (!attached || !count.marker) {
    bt.child.kill('SIGKILL')
    throw new Error(`bare bpftrace did not attach: ${bt.stderr().trim().slice(-400)}`)
  }
  const btPid = childrenOf(bt.pid)[0]
  const bpftraceStartupCpuMs = btPid ? cpuMs(btPid) : undefined
  let m: Manifest
  try {
    m = around ? await around(btPid, () => runWorkload(ctx, args)) : await runWorkload(ctx, args)
  } catch (err) {
    bt.child.kill('SIGKILL')
    throw err
  }
  const s0 = performance.now()
  if (twoStep) {
    // pausetrace's stop, read up to the kernel's counts as its session reads up (statwrap passes the signals on)
    const {stopBpftrace, stopStepMs} = ctx.code
    const drained = async (): Promise<void> => {
      await waitFor(() => {
        count.push(tail.read())
        return count.caughtUp || bt.done
      }, stopStepMs, 10)
    }
    await stopBpftrace({exited: bt.exited, signal: (sig) => bt.child.kill(sig)}, drained, stopStepMs)
  } else {
    for (const act of [() => bt.child.kill('SIGINT'), () => bt.child.kill('SIGINT'), () => bt.child.kill('SIGINT'), () => bt.child.kill('SIGKILL')]) {
      act()
      if (await waitFor(() => bt.done, 5000, 10)) break
    }
  }
  await bt.exited
  const stopMs = performance.now() - s0
  count.push(tail.read())
  count.push('\n')
  const ru = readStat(statFile)[0]
  return {
    ...base,
    manifest: m,
    ...workloadTimes(m),
    attachMs,
    stopMs,
    ...bpftraceUse(ru, bpftraceStartupCpuMs),
    bare: count.finish(),
    traceFile: outFile,
    traceBytes: statSync(outFile).size,
  }
}

/** A pausetrace process under statwrap: started directly (record) or in a tmux pane (watch on a terminal). */
interface Traced {
  /** statwrap's PID */
  pid: number
  done: () => boolean
  signal: (sig: NodeJS.Signals) => void
  stderr: () => string
  /** PIDs of ours that are not our descendants (a tmux server), for the foreign-tracer check */
  roots: number[]
  cleanup: () => void
}

const shq = (a: string): string => `'${a.replaceAll("'", "'\\''")}'`

function alive(pid: number): boolean {
  const st = procStat(pid)
  return st !== undefined && st.state !== 'Z'
}

/** A sample's bpftrace figures from its rusage (statwrap), the same for bare and traced runs. */
function bpftraceUse(ru: ReturnType<typeof readStat>[number] | undefined, startupCpuMs: number | undefined): {bpftrace: typeof ru; bpftraceCpuMs?: number; bpftraceStartupCpuMs?: number} {
  return {bpftrace: ru, bpftraceCpuMs: ru ? (ru.userUs + ru.sysUs) / 1000 : undefined, bpftraceStartupCpuMs: startupCpuMs}
}

function launchDirect(ctx: Ctx, argv: string[], env: NodeJS.ProcessEnv, nodeStat: string): Traced {
  const p = start(ctx.tools.statwrap, [nodeStat, process.execPath, ...argv], {env, cwd: ROOT})
  return {pid: p.pid, done: () => p.done, signal: (sig) => p.child.kill(sig), stderr: p.stderr, roots: [], cleanup: () => p.child.kill('SIGKILL')}
}

function launchTmux(ctx: Ctx, argv: string[], env: NodeJS.ProcessEnv, nodeStat: string, id: string): Traced {
  const sock = `pausetrace-bench-${process.pid}-${ctx.seq}`
  const errFile = path.join(ctx.dir, `${id}.stderr`)
  // Ink draws only on a terminal and never under CI: the pane gets a clean environment.
  const clean: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(env)) if (k !== 'CI' && k !== 'CONTINUOUS_INTEGRATION' && !k.startsWith('CI_')) clean[k] = v
  const cmd = `exec ${[ctx.tools.statwrap, nodeStat, process.execPath, ...argv].map(shq).join(' ')} 2>${shq(errFile)}`
  execFileSync('tmux', ['-L', sock, '-f', '/dev/null', 'new-session', '-d', '-x', '160', '-y', '48', '-s', 'bench', cmd], {env: clean, cwd: ROOT})
  const info = execFileSync('tmux', ['-L', sock, 'display-message', '-p', '-t', 'bench', '#{pane_pid} #{pid}']).toString().trim().split(' ').map(Number)
  const [pane, server] = info
  return {
    pid: pane,
    done: () => !alive(pane),
    signal: (sig) => {
      if (alive(pane)) process.kill(pane, sig)
    },
    stderr: () => (existsSync(errFile) ? readFileSync(errFile, 'utf8') : ''),
    roots: [server],
    cleanup: () => {
      for (const pid of [...childrenOf(pane), pane]) if (alive(pid)) process.kill(pid, 'SIGKILL')
      setTimeout(() => {
        if (alive(server)) process.kill(server, 'SIGTERM')
      }, 2000).unref()
    },
  }
}

/** `record` (direct) or `watch --record` (in a tmux pane: the Ink view), then the trace file's accounting. */
async function sampleRecord(ctx: Ctx, base: BaseSample, args: string[], variant: Variant): Promise<Sample> {
  const id = `${base.scenario}-${variant}-${base.repeat}-${ctx.seq++}`
  const trace = path.join(ctx.dir, `${id}.jsonl`)
  const nodeStat = path.join(ctx.dir, `${id}.node.stat`)
  const btStat = path.join(ctx.dir, `${id}.bt.stat`)
  const all = variant !== 'record-default'
  const env = {...process.env, BENCH_STAT_OUT: btStat, BENCH_REAL_BPFTRACE: ctx.info.command}
  const tail = [...(all ? ['--all'] : []), '--bpftrace', ctx.tools.bpftraceWrap]
  const t0 = performance.now()
  const rec = variant === 'watch-tty'
    ? launchTmux(ctx, [ctx.code.cli, 'watch', '--record', trace, ...tail], env, nodeStat, id)
    : launchDirect(ctx, [ctx.code.cli, 'record', '-o', trace, ...tail], env, nodeStat)
  for (const r of rec.roots) ctx.roots.add(r)
  try {
    const hasLine = (): boolean => {
      try {
        return statSync(trace).size > 0 && readFrom(trace, 0).includes(0x0a)
      } catch {
        return false
      }
    }
    const attached = await waitFor(() => hasLine() || rec.done(), 120_000)
    const attachMs = performance.now() - t0
    if (!attached || rec.done()) throw new Error(`pausetrace ${variant} did not attach: ${rec.stderr().trim().slice(-400)}`)
    const nodePid = childrenOf(rec.pid)[0]
    const nodeStartupCpuMs = nodePid ? cpuMs(nodePid) : undefined
    const wrapPid = nodePid ? childrenOf(nodePid).find((c) => commOf(c) === 'bpftrace') : undefined
    const btPid = wrapPid ? childrenOf(wrapPid)[0] : undefined
    const bpftraceStartupCpuMs = btPid ? cpuMs(btPid) : undefined
    let peakKb = 0
    const poll = (): void => {
      const v = nodePid ? vmHwmKb(nodePid) : undefined
      if (v !== undefined && v > peakKb) peakKb = v
    }
    const poller = setInterval(poll, 100)
    let m: Manifest
    try {
      m = await runWorkload(ctx, args)
    } finally {
      clearInterval(poller)
    }
    const s0 = performance.now()
    rec.signal('SIGINT')
    const deadline = Date.now() + 60_000
    while (!rec.done() && Date.now() < deadline) {
      poll()
      await sleep(10)
    }
    if (!rec.done()) throw new Error(`pausetrace ${variant} did not stop within 60 s of SIGINT`)
    const stopMs = performance.now() - s0
    await waitFor(() => readStat(nodeStat).length > 0, 5000, 10)
    const total = readStat(nodeStat)[0]
    if (!total || total.code !== 0) throw new Error(`pausetrace ${variant} exited ${total?.code ?? '?'} (signal ${total?.signal ?? '?'}): ${rec.stderr().trim().slice(-400)}`)
    const bt = readStat(btStat)[0]
    const accounting = await accountTrace(trace, m, all ? 'all' : 'sandboxes')
    return {
      ...base,
      manifest: m,
      ...workloadTimes(m),
      attachMs,
      stopMs,
      ...bpftraceUse(bt, bpftraceStartupCpuMs),
      node: total && bt ? {cpuMs: (total.userUs + total.sysUs - bt.userUs - bt.sysUs) / 1000, startupCpuMs: nodeStartupCpuMs, peakRssMb: peakKb / 1024} : undefined,
      accounting,
      summary: rec.stderr().trim().split('\n').at(-1),
      traceFile: trace,
      traceBytes: statSync(trace).size,
    }
  } finally {
    rec.cleanup()
    // the tmux server stays "ours" for a moment after the pane is gone
    setTimeout(() => {
      for (const r of rec.roots) ctx.roots.delete(r)
    }, 3000).unref()
  }
}

async function sampleOnce(ctx: Ctx, scenario: ScenarioName, variant: Variant, repeat: number, args: string[]): Promise<Sample> {
  const before = await quiet(ctx)
  const seen = new Set(before)
  const watcher = setInterval(() => {
    for (const f of foreignTracers(ctx.roots)) seen.add(f)
  }, 500)
  const base = {scenario, variant, repeat, load: loadAvg(), foreign: [] as string[]}
  try {
    const s =
      variant === 'untraced' ? await sampleUntraced(ctx, base, args)
        : variant === 'bare' ? await sampleBare(ctx, base, args)
          : await sampleRecord(ctx, base, args, variant)
    for (const f of foreignTracers(ctx.roots)) seen.add(f)
    s.foreign = [...seen].sort()
    const acc = s.accounting ? ` ${s.accounting.exact ? 'exact' : 'NOT EXACT'} (${s.accounting.events} events, ${s.accounting.lost} lost)` : s.bare ? ` (${s.bare.lines} lines, ${s.bare.lost ?? '?'} lost)` : ''
    ctx.log(`  ${scenario} ${variant} #${repeat}: workload ${s.workloadMs.toFixed(0)} ms${s.attachMs !== undefined ? `, attach ${s.attachMs.toFixed(0)} ms` : ''}${acc}${s.foreign.length ? `, disturbed by ${s.foreign.length} foreign: ${s.foreign.slice(0, 4).join(' ')}${s.foreign.length > 4 ? ' …' : ''}` : ''}`)
    return s
  } finally {
    clearInterval(watcher)
  }
}

/**
 * One sample; taken again (up to ctx.retries times) when someone else's bpftrace or podman ran
 * during it. A failure is kept in the sample (`error`), and the run goes on.
 */
async function sample(ctx: Ctx, scenario: ScenarioName, variant: Variant, repeat: number, args: string[]): Promise<Sample> {
  for (let attempt = 0; ; attempt++) {
    let s: Sample
    try {
      s = await sampleOnce(ctx, scenario, variant, repeat, args)
    } catch (err) {
      killAll()
      const error = (err as Error).message
      ctx.log(`  ${scenario} ${variant} #${repeat}: FAILED: ${error}`)
      s = {scenario, variant, repeat, manifest: {}, workloadMs: Number.NaN, workloadCpuUs: Number.NaN, load: loadAvg(), foreign: foreignTracers(ctx.roots), error}
      if (attempt >= ctx.retries) return {...s, attempts: attempt + 1}
      continue
    }
    s.attempts = attempt + 1
    if (s.foreign.length === 0 || attempt >= ctx.retries) return s
    if (s.traceFile) rmSync(s.traceFile, {force: true})
  }
}

// ---------------------------------------------------------------------------------------------
// replay

export interface ReplaySample {
  repeat: number
  replayMs: number
  parseMs: number
  replayCpuMs: number
  parseCpuMs: number
  records: number
  foreign: string[]
}

async function timed(ctx: Ctx, args: string[], id: string): Promise<{ms: number; cpuMs: number; stdout: string}> {
  const stat = path.join(ctx.dir, `${id}.stat`)
  const t0 = performance.now()
  const out = openSync('/dev/null', 'w')
  const p = start(ctx.tools.statwrap, [stat, process.execPath, ...args], {stdio: ['ignore', args.includes('--json') ? out : 'pipe', 'pipe'], cwd: ROOT})
  closeSync(out)
  const {code} = await p.exited
  const ms = performance.now() - t0
  if (code !== 0) throw new Error(`${args.join(' ')} exited ${code}: ${p.stderr().slice(-300)}`)
  const ru = readStat(stat)[0]
  return {ms, cpuMs: ru ? (ru.userUs + ru.sysUs) / 1000 : Number.NaN, stdout: p.stdout()}
}

async function replaySamples(ctx: Ctx, file: string, repeats: number): Promise<ReplaySample[]> {
  const out: ReplaySample[] = []
  for (let r = 0; r < repeats; r++) {
    const seen = new Set(await quiet(ctx))
    const order = r % 2 === 0 ? ['replay', 'parse'] : ['parse', 'replay']
    const res: Record<string, {ms: number; cpuMs: number; stdout: string}> = {}
    for (const which of order) {
      res[which] = which === 'replay' ? await timed(ctx, [ctx.code.cli, 'replay', file, '--json'], `replay-${r}`) : await timed(ctx, [path.join(BENCH, 'json-parse.mjs'), file], `parse-${r}`)
    }
    for (const f of foreignTracers(ctx.roots)) seen.add(f)
    const s: ReplaySample = {repeat: r, replayMs: res.replay.ms, parseMs: res.parse.ms, replayCpuMs: res.replay.cpuMs, parseCpuMs: res.parse.cpuMs, records: Number(res.parse.stdout.trim()), foreign: [...seen].sort()}
    ctx.log(`  replay #${r}: replay --json ${s.replayMs.toFixed(0)} ms, JSON.parse ${s.parseMs.toFixed(0)} ms (${s.records} records)${s.foreign.length ? `, foreign: ${s.foreign.join(' ')}` : ''}`)
    out.push(s)
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// the run

export interface BenchOptions {
  size?: Size
  repeat?: number
  only?: ScenarioName[]
  /** where results.json goes (default bench/results.json; null: not written) */
  out?: string | null
  /** keep the trace files (in the work directory, printed) */
  keep?: boolean
  log?: (s: string) => void
  /** how long to wait before each sample for other people's bpftrace/podman to end */
  quietWaitMs?: number
  /** how many times a sample disturbed by them is taken again */
  retries?: number
  /** which variants of each scenario to run (default PLAN) */
  plan?: Record<ScenarioName, Variant[]>
  bpftrace?: string
}

export interface Results {
  meta: Record<string, unknown>
  params: Params
  samples: Sample[]
  replay: ReplaySample[]
  summary: Summary
  table: string
}

export const PLAN: Record<ScenarioName, Variant[]> = {
  flood: ['untraced', 'bare', 'record-all', 'record-default'],
  churn: ['untraced', 'bare', 'record-all'],
  sandboxes: ['untraced', 'bare', 'record-default'],
  million: ['untraced', 'bare', 'record-all', 'watch-tty'],
}

/** The CI smoke run: every kind of variant once, every scenario's accounting, in well under a minute. */
export const SMOKE_PLAN: Record<ScenarioName, Variant[]> = {
  flood: ['untraced', 'record-all', 'record-default'],
  churn: ['bare', 'record-all'],
  sandboxes: ['record-default'],
  million: ['record-all'],
}

function argsOf(p: Params, s: ScenarioName): string[] {
  switch (s) {
    case 'flood':
      return ['flood', String(p.flood)]
    case 'churn':
      return ['churn', String(p.churn)]
    case 'sandboxes':
      return ['sandboxes', String(p.sandboxes.n), String(p.sandboxes.churn), String(p.sandboxes.flood), String(p.sandboxes.noiseFlood), String(p.sandboxes.noiseChurn)]
    case 'million':
      return ['mix', String(p.million.churn), String(p.million.checks)]
    default:
      throw new Error(`unknown scenario ${String(s)}`)
  }
}

function gitState(): {commit: string; dirty: string[]} {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {cwd: ROOT}).toString().trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'bpf', 'bin'], {cwd: ROOT}).toString().split('\n').filter(Boolean).map((l) => l.trim())
    return {commit, dirty}
  } catch {
    return {commit: 'unknown', dirty: []}
  }
}

export async function runBench(opts: BenchOptions = {}): Promise<Results> {
  const size = opts.size ?? 'small'
  const params: Params = {...SIZES[size], repeat: opts.repeat ?? SIZES[size].repeat}
  const log = opts.log ?? ((s: string) => process.stderr.write(`${s}\n`))
  const scenarios = opts.only ?? [...SCENARIOS]
  const tools = buildTools()
  const info = await bpftraceInfo(opts.bpftrace)
  const code = await snapshotCode()
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-bench-'))
  const ctx: Ctx = {
    tools, info, dir, code, log, roots: new Set(), seq: 0,
    quietWaitMs: opts.quietWaitMs ?? (size === 'full' ? 45_000 : 0), retries: opts.retries ?? (size === 'full' ? 1 : 0),
  }
  const plan = opts.plan ?? PLAN
  const loadStart = loadAvg()
  const started = new Date()
  const samples: Sample[] = []
  let replay: ReplaySample[] = []
  log(`pausetrace bench: size ${size}, ${params.repeat} repeat(s), bpftrace ${info.version}, work dir ${dir}`)
  try {
    for (const scn of scenarios) {
      const variants = plan[scn].filter((v) => v !== 'watch-tty' || code.hasWatch)
      const repeats = scn === 'million' ? 1 : params.repeat
      log(`${scn}: ${argsOf(params, scn).join(' ')}`)
      for (let r = 0; r < repeats; r++) {
        // rotate the order so that no variant always runs first (or right after a bpftrace exit)
        const order = variants.map((_, i) => variants[(i + r) % variants.length])
        for (const v of order) {
          samples.push(await sample(ctx, scn, v, r, argsOf(params, scn)))
          await sleep(300)
        }
      }
    }
    const big = samples.filter((s) => s.variant.startsWith('record') && s.traceFile).sort((a, b) => (b.traceBytes ?? 0) - (a.traceBytes ?? 0))[0]
    if (big?.traceFile) {
      log(`replay: ${big.scenario} ${big.variant} trace, ${big.accounting?.records} records, ${((big.traceBytes ?? 0) / 1e6).toFixed(1)} MB`)
      replay = await replaySamples(ctx, big.traceFile, params.repeat)
    }
  } finally {
    killAll()
    rmSync(code.dir, {recursive: true, force: true})
    if (!opts.keep) rmSync(dir, {recursive: true, force: true})
    else log(`trace files kept in ${dir}`)
  }
  const summary = summarize(samples, replay, plan)
  const meta = {
    date: started.toISOString(),
    seconds: Math.round((Date.now() - started.getTime()) / 1000),
    size,
    repeat: params.repeat,
    host: os.hostname(),
    kernel: os.release(),
    cpus: os.cpus().length,
    node: process.version,
    bpftrace: info.version,
    git: {commit: code.commit, dirty: code.dirty},
    distBuiltAt: code.distBuiltAt,
    staleDist: code.staleDist,
    watch: code.hasWatch,
    /** experiments: environment that changes what is measured */
    env: Object.fromEntries(['BPFTRACE_PERF_RB_PAGES', 'BPFTRACE_MAP_KEYS_MAX', 'BENCH_BPFTRACE_NICE'].filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]])),
    loadStart,
    loadEnd: loadAvg(),
    foreignSeen: [...new Set(samples.flatMap((s) => s.foreign))].sort(),
  }
  const table = renderTable(summary, meta, params)
  const results: Results = {meta, params, samples: samples.map((s) => ({...s, traceFile: undefined})), replay, summary, table}
  const out = opts.out === undefined ? path.join(BENCH, 'results.json') : opts.out
  if (out) writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`)
  return results
}

// ---------------------------------------------------------------------------------------------
// summary and table

export interface VariantSummary {
  scenario: ScenarioName
  variant: Variant
  samples: number
  workloadMs: number
  /** median over repeats of (this / untraced of the same repeat) */
  vsUntraced?: number
  vsBare?: number
  attachMs?: number
  stopMs?: number
  bpftraceCpuMs?: number
  /** after "attached": the cost of tracing, without compiling and loading */
  bpftraceTracingCpuMs?: number
  nodeCpuMs?: number
  nodeTracingCpuMs?: number
  /** node CPU after "attached" per event written */
  nodeUsPerEvent?: number
  /** bpftrace CPU after "attached" per line printed */
  bpftraceUsPerLine?: number
  peakRssMb?: number
  bpftraceRssMb?: number
  events?: number
  lines?: number
  lost?: number
  exact?: boolean
  /** events written out of time order (worst sample), and how far back (ms) */
  outOfOrder?: number
  maxLagMs?: number
  failedChecks?: string[]
  foreign: number
  /** samples that failed, and why */
  errors: string[]
}

export interface GoalRow {
  goal: string
  target: string
  measured: string
  met: boolean | null
  note?: string
}

export interface Summary {
  variants: VariantSummary[]
  goals: GoalRow[]
  allExact: boolean
}

const btTracing = (s: Sample): number | undefined => (s.bpftraceCpuMs !== undefined && s.bpftraceStartupCpuMs !== undefined ? s.bpftraceCpuMs - s.bpftraceStartupCpuMs : undefined)
const nodeTracing = (s: Sample): number | undefined => (s.node?.startupCpuMs !== undefined ? s.node.cpuMs - s.node.startupCpuMs : undefined)

function pairedRatio(samples: Sample[], scn: ScenarioName, v: Variant, ref: Variant): number | undefined {
  const rs: number[] = []
  for (const s of samples.filter((x) => x.scenario === scn && x.variant === v)) {
    const r = samples.find((x) => x.scenario === scn && x.variant === ref && x.repeat === s.repeat)
    if (r) rs.push(s.workloadMs / r.workloadMs)
  }
  return rs.length ? median(rs) : undefined
}

export function summarize(all: Sample[], replay: ReplaySample[], plan: Record<ScenarioName, Variant[]> = PLAN): Summary {
  const variants: VariantSummary[] = []
  const samples = all.filter((s) => !s.error)
  for (const scn of SCENARIOS) {
    for (const v of plan[scn]) {
      const ss = samples.filter((s) => s.scenario === scn && s.variant === v)
      const errors = all.filter((s) => s.scenario === scn && s.variant === v && s.error).map((s) => s.error as string)
      if (ss.length === 0 && errors.length === 0) continue
      const med = (f: (s: Sample) => number | undefined): number | undefined => {
        const xs = ss.map(f).filter((x): x is number => x !== undefined && Number.isFinite(x))
        return xs.length ? median(xs) : undefined
      }
      const lostOf = (s: Sample): number | undefined => s.accounting?.lost ?? s.bare?.lost
      variants.push({
        scenario: scn,
        variant: v,
        samples: ss.length,
        workloadMs: med((s) => s.workloadMs) ?? Number.NaN,
        vsUntraced: v === 'untraced' ? undefined : pairedRatio(samples, scn, v, 'untraced'),
        vsBare: v.startsWith('record') ? pairedRatio(samples, scn, v, 'bare') : undefined,
        attachMs: med((s) => s.attachMs),
        stopMs: med((s) => s.stopMs),
        bpftraceCpuMs: med((s) => s.bpftraceCpuMs),
        bpftraceTracingCpuMs: med(btTracing),
        nodeCpuMs: med((s) => s.node?.cpuMs),
        nodeTracingCpuMs: med(nodeTracing),
        nodeUsPerEvent: med((s) => {
          const c = nodeTracing(s)
          return c !== undefined && s.accounting?.events ? (c * 1000) / s.accounting.events : undefined
        }),
        bpftraceUsPerLine: med((s) => {
          const c = btTracing(s)
          const lines = s.bare ? s.bare.lines : s.accounting?.records
          return c !== undefined && lines ? (c * 1000) / lines : undefined
        }),
        peakRssMb: ss.some((s) => s.node) ? Math.max(...ss.map((s) => s.node?.peakRssMb ?? 0)) : undefined,
        bpftraceRssMb: ss.some((s) => s.bpftrace) ? Math.max(...ss.map((s) => (s.bpftrace?.maxRssKb ?? 0) / 1024)) : undefined,
        events: med((s) => s.accounting?.events),
        lines: med((s) => s.bare?.lines),
        lost: ss.some((s) => lostOf(s) !== undefined) ? Math.max(...ss.map((s) => lostOf(s) ?? 0)) : undefined,
        exact: ss.some((s) => s.accounting) ? ss.every((s) => s.accounting?.exact) : undefined,
        outOfOrder: ss.some((s) => s.accounting) ? Math.max(...ss.map((s) => s.accounting?.outOfOrder ?? 0)) : undefined,
        maxLagMs: ss.some((s) => s.accounting) ? Math.max(...ss.map((s) => s.accounting?.maxLagMs ?? 0)) : undefined,
        failedChecks: [...new Set(ss.flatMap((s) => (s.accounting?.checks ?? []).filter((c) => c.expected !== c.found).map((c) => `${c.what}: ${c.found}/${c.expected}`)))],
        foreign: ss.filter((s) => s.foreign.length > 0).length,
        errors,
      })
    }
  }
  const get = (scn: ScenarioName, v: Variant): VariantSummary | undefined => variants.find((x) => x.scenario === scn && x.variant === v)
  const x = (n: number | undefined, d = 2): string => (n === undefined || !Number.isFinite(n) ? 'n/a' : `${n.toFixed(d)}×`)
  const goals: GoalRow[] = []
  const floodAll = get('flood', 'record-all')
  if (floodAll) {
    goals.push({
      goal: 'Signal flood in the traced scope (record --all) vs untraced',
      target: `≤ ${GOALS.floodInScope}×, exact, 0 lost`,
      measured: `${x(floodAll.vsUntraced)}, ${floodAll.exact ? 'exact' : 'NOT exact'}, ${floodAll.lost} lost`,
      met: floodAll.vsUntraced !== undefined && floodAll.vsUntraced <= GOALS.floodInScope && floodAll.exact === true && floodAll.lost === 0,
      note: `bare bpftrace: ${x(get('flood', 'bare')?.vsUntraced)}`,
    })
  }
  const floodDef = get('flood', 'record-default')
  if (floodDef) {
    goals.push({
      goal: 'Same flood on the host, default scope (sandboxes) vs untraced',
      target: `≤ ${GOALS.floodHostDefault}×`,
      measured: `${x(floodDef.vsUntraced)}, ${floodDef.events} events${floodDef.exact ? '' : ' NOT exact'}`,
      met: floodDef.vsUntraced !== undefined && floodDef.vsUntraced <= GOALS.floodHostDefault && floodDef.exact === true,
    })
  }
  const churn = get('churn', 'record-all')
  if (churn) {
    goals.push({
      goal: 'Fork/exit/reap churn (record --all) vs bare bpftrace',
      target: `≤ ${GOALS.churnVsBare}×, 0 lost`,
      measured: `${x(churn.vsBare)}, ${churn.exact ? 'exact' : 'NOT exact'}, ${churn.lost} lost`,
      met: churn.vsBare !== undefined && churn.vsBare <= GOALS.churnVsBare && churn.exact === true && churn.lost === 0,
      note: `vs untraced: record ${x(churn.vsUntraced)}, bare ${x(get('churn', 'bare')?.vsUntraced)}`,
    })
  }
  if (replay.length) {
    const ratio = median(replay.map((r) => r.replayMs / r.parseMs))
    goals.push({
      goal: 'Replay --json vs a bare line-by-line JSON.parse',
      target: `≤ ${GOALS.replayVsParse}×`,
      measured: `${x(ratio)} (${median(replay.map((r) => r.replayMs)).toFixed(0)} vs ${median(replay.map((r) => r.parseMs)).toFixed(0)} ms, ${replay[0].records} records)`,
      met: ratio <= GOALS.replayVsParse,
    })
  }
  for (const [v, what, limit] of [['record-all', 'record', GOALS.recordRssMb], ['watch-tty', 'watch (Ink view in a tmux pane, --record)', GOALS.watchRssMb]] as Array<[Variant, string, number]>) {
    const mv = get('million', v)
    if (!mv) {
      if (v === 'watch-tty') goals.push({goal: 'Peak RSS of watch, smooth', target: `≤ ${limit} MB`, measured: 'not measured', met: null, note: 'no watch command in the code under test'})
      continue
    }
    if (mv.samples === 0) {
      goals.push({goal: `Peak RSS of ${what}`, target: `≤ ${limit} MB over 1,000,000 events`, measured: `failed: ${mv.errors.join('; ').slice(0, 200)}`, met: false})
      continue
    }
    const produced = (mv.events ?? 0) + (mv.lost ?? 0)
    const enough = produced >= 1_000_000
    goals.push({
      goal: `Peak RSS of ${what} over ${produced} events (${mv.events} written + ${mv.lost} lost)`,
      target: `≤ ${limit} MB over 1,000,000 events${v === 'watch-tty' ? ', smooth' : ''}`,
      measured: `${mv.peakRssMb?.toFixed(0)} MB (its bpftrace ${mv.bpftraceRssMb?.toFixed(0)} MB), ${mv.exact ? 'exact' : 'NOT exact'}, ${mv.lost} lost`,
      met: enough ? (mv.peakRssMb ?? Number.POSITIVE_INFINITY) <= limit : null,
      note: [enough ? '' : 'fewer than a million events at this size', v === 'watch-tty' ? 'smoothness not measured' : ''].filter(Boolean).join('; ') || undefined,
    })
  }
  const bareAttach = median(samples.filter((s) => s.variant === 'bare' && s.attachMs !== undefined).map((s) => s.attachMs as number))
  const recAttach = median(samples.filter((s) => s.variant === 'record-all' && s.attachMs !== undefined).map((s) => s.attachMs as number))
  if (Number.isFinite(bareAttach) && Number.isFinite(recAttach)) {
    const defAttach = median(samples.filter((s) => s.variant === 'record-default' && s.attachMs !== undefined).map((s) => s.attachMs as number))
    goals.push({
      goal: 'Time to attached: record --all (header line) vs bare bpftrace (BEGIN line)',
      target: `≤ ${GOALS.attachVsBare}×`,
      measured: `${x(recAttach / bareAttach)} (${recAttach.toFixed(0)} vs ${bareAttach.toFixed(0)} ms)`,
      met: recAttach / bareAttach <= GOALS.attachVsBare,
      note: Number.isFinite(defAttach) ? `default scope: ${defAttach.toFixed(0)} ms (${x(defAttach / bareAttach)})` : undefined,
    })
  }
  goals.push(...goals17(get, x, Number.isFinite(bareAttach) && Number.isFinite(recAttach) ? recAttach / bareAttach : undefined))
  const allExact = all.every((s) => !s.error) && samples.filter((s) => s.accounting).every((s) => s.accounting?.exact)
  return {variants, goals, allExact}
}

/** Issue 17's rows: node's CPU per event and record vs bare on the million stream, watch vs record, time order, attach. */
function goals17(get: (scn: ScenarioName, v: Variant) => VariantSummary | undefined, x: (n: number | undefined, d?: number) => string, attach: number | undefined): GoalRow[] {
  const rows: GoalRow[] = []
  const rec = get('million', 'record-all')
  if (rec?.nodeUsPerEvent !== undefined) {
    rows.push({goal: '#17: node CPU per event, million stream (record --all)', target: `≤ ${GOALS_17.nodeUsPerEvent} µs`, measured: `${rec.nodeUsPerEvent.toFixed(1)} µs`, met: rec.nodeUsPerEvent <= GOALS_17.nodeUsPerEvent})
  }
  if (rec?.vsBare !== undefined) {
    rows.push({goal: '#17: record --all vs bare bpftrace, million stream', target: `≤ ${GOALS_17.recordVsBareMillion}×`, measured: x(rec.vsBare), met: rec.vsBare <= GOALS_17.recordVsBareMillion})
  }
  const watch = get('million', 'watch-tty')
  if (watch?.nodeUsPerEvent !== undefined && rec?.nodeUsPerEvent !== undefined) {
    const r = watch.nodeUsPerEvent / rec.nodeUsPerEvent
    rows.push({goal: '#17: watch (Ink, tmux pane) vs record, node CPU per event', target: `≤ ${GOALS_17.watchVsRecordCpu}×`, measured: `${x(r)} (${watch.nodeUsPerEvent.toFixed(1)} vs ${rec.nodeUsPerEvent.toFixed(1)} µs)`, met: r <= GOALS_17.watchVsRecordCpu})
  }
  const sbx = get('sandboxes', 'record-default')
  if (sbx?.outOfOrder !== undefined) {
    rows.push({goal: '#17: events written out of time order, sandboxes (20 busy on 2 CPUs)', target: `${GOALS_17.outOfOrder}`, measured: `${sbx.outOfOrder} (max lag ${(sbx.maxLagMs ?? 0).toFixed(0)} ms)`, met: sbx.outOfOrder === GOALS_17.outOfOrder})
  }
  if (attach !== undefined) {
    rows.push({goal: '#17: time to attached, record --all vs bare bpftrace', target: `≤ ${GOALS_17.attachVsBare.toFixed(1)}×`, measured: x(attach), met: attach <= GOALS_17.attachVsBare})
  }
  return rows
}

function pad(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  return rows.map((r, j) => {
    const line = `| ${r.map((c, i) => c.padEnd(w[i])).join(' | ')} |`
    return j === 0 ? `${line}\n|${w.map((n) => '-'.repeat(n + 2)).join('|')}|` : line
  }).join('\n')
}

export function renderTable(summary: Summary, meta: Record<string, any>, params: Params): string {
  const n = (v: number | undefined, d = 0): string => (v === undefined || !Number.isFinite(v) ? '' : v.toFixed(d))
  const both = (a: number | undefined, b: number | undefined): string => (a === undefined ? '' : `${n(a)} (${n(b)})`)
  const r = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '' : `${v.toFixed(2)}×`)
  const goals = pad([
    ['goal', 'target', 'measured', 'met', 'note'],
    ...summary.goals.map((g) => [g.goal, g.target, g.measured, g.met === null ? '—' : g.met ? 'yes' : 'NO', g.note ?? '']),
  ])
  const detail = pad([
    ['scenario', 'variant', 'n', 'workload ms', 'vs untraced', 'vs bare', 'attach ms', 'stop ms', 'bpftrace CPU ms (tracing)', 'node CPU ms (tracing)', 'node µs/event', 'bpftrace µs/line', 'node peak MB', 'bpftrace MB', 'events (lines)', 'lost', 'out of order (max lag ms)', 'exact', 'disturbed', 'errors'],
    ...summary.variants.map((v) => [
      v.scenario, v.variant, String(v.samples), n(v.workloadMs), r(v.vsUntraced), r(v.vsBare), n(v.attachMs), n(v.stopMs), both(v.bpftraceCpuMs, v.bpftraceTracingCpuMs), both(v.nodeCpuMs, v.nodeTracingCpuMs), n(v.nodeUsPerEvent, 1), n(v.bpftraceUsPerLine, 1),
      n(v.peakRssMb), n(v.bpftraceRssMb), v.events !== undefined ? String(v.events) : v.lines !== undefined ? `(${v.lines})` : '', v.lost === undefined ? '' : String(v.lost),
      v.outOfOrder === undefined ? '' : v.outOfOrder ? `${v.outOfOrder} (${n(v.maxLagMs)})` : '0',
      v.exact === undefined ? '' : v.exact ? 'yes' : `NO: ${(v.failedChecks ?? []).join('; ').slice(0, 160)}`, v.foreign ? `${v.foreign}/${v.samples}` : '',
      v.errors.length ? `${v.errors.length} failed: ${v.errors[0].slice(0, 120)}` : '',
    ]),
  ])
  const p = params
  const sizes = `flood ${p.flood} kill(self); churn ${p.churn} fork/exit/reap; sandboxes ${p.sandboxes.n} × (churn ${p.sandboxes.churn} + flood ${p.sandboxes.flood}) with host noise flood ${p.sandboxes.noiseFlood} + churn ${p.sandboxes.noiseChurn}; million: churn ${p.million.churn} + ${p.million.checks} kill(self, 0)`
  const dirty = (meta.git?.dirty ?? []) as string[]
  return [
    `pausetrace bench, ${meta.date}, size ${meta.size} (${meta.repeat} repeats, medians), ${meta.cpus} CPUs, kernel ${meta.kernel}, bpftrace ${meta.bpftrace}, node ${meta.node}, git ${meta.git?.commit}${dirty.length ? ` + uncommitted ${dirty.join(', ')}` : ''}`,
    `${Object.keys(meta.env ?? {}).length ? `EXPERIMENT: ${Object.entries(meta.env).map(([k, v]) => `${k}=${String(v)}`).join(' ')}; ` : ''}code under test: a copy of dist/ built ${meta.distBuiltAt}${meta.staleDist?.length ? ` (${meta.staleDist.length} src files changed since, not measured)` : ''}`,
    `load average ${meta.loadStart?.join(' ')} → ${meta.loadEnd?.join(' ')}; other people's bpftrace/podman seen: ${meta.foreignSeen?.length ? meta.foreignSeen.join(' ') : 'none'}; ${meta.seconds} s`,
    `sizes: ${sizes}`,
    '',
    goals,
    '',
    detail,
  ].join('\n')
}

// ---------------------------------------------------------------------------------------------
// command line

async function main(): Promise<void> {
  const argv = process.argv.slice(2)
  const opts: BenchOptions = {}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const val = (): string => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${a} needs a value`)
      return v
    }
    if (a === '--size') {
      const v = val()
      if (v !== 'small' && v !== 'full') throw new Error('--size is small or full')
      opts.size = v
    } else if (a === '--repeat') opts.repeat = Number(val())
    else if (a === '--only') opts.only = val().split(',') as ScenarioName[]
    else if (a === '--variants') {
      const keep = val().split(',')
      opts.plan = Object.fromEntries(SCENARIOS.map((s) => [s, PLAN[s].filter((v) => keep.includes(v))])) as Record<ScenarioName, Variant[]>
    }
    else if (a === '--out') opts.out = val()
    else if (a === '--keep') opts.keep = true
    else if (a === '--quiet-wait') opts.quietWaitMs = Number(val()) * 1000
    else if (a === '--retries') opts.retries = Number(val())
    else if (a === '--bpftrace') opts.bpftrace = val()
    else if (a === '--render') {
      // re-render the table of an earlier results.json (after a change of the table's code)
      const res = JSON.parse(readFileSync(val(), 'utf8')) as Results
      const summary = summarize(res.samples, res.replay, PLAN)
      process.stdout.write(`${renderTable(summary, res.meta, res.params)}\n`)
      return
    }
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: sudo npx tsx bench/run.ts [--size small|full] [--repeat N] [--only flood,churn,sandboxes,million] [--variants untraced,bare,record-all,record-default,watch-tty] [--out FILE] [--keep] [--quiet-wait SECONDS] [--retries N] [--bpftrace PATH] | --render RESULTS.json\n')
      return
    } else throw new Error(`unknown argument ${a}`)
  }
  for (const s of opts.only ?? []) if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s}; one of ${SCENARIOS.join(', ')}`)
  if (process.geteuid?.() !== 0) throw new Error('the benchmark traces with bpftrace: run it as root')
  const stop = (): void => {
    killAll()
    process.exit(130)
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  const res = await runBench(opts)
  process.stdout.write(`${res.table}\n`)
  if (!res.summary.allExact) process.exitCode = 1
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: Error) => {
    killAll()
    process.stderr.write(`bench: ${err.stack ?? err.message}\n`)
    process.exit(1)
  })
}
