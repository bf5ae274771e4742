// What pausetrace's probes cost inside the kernel, per kill(): the signal flood run untraced,
// under the program's hooks with empty bodies (the floor: what attaching them costs before any
// probe work), and under the whole program (scope all, and the default scope where the flood is
// on the host and nothing is printed). bpftrace alone, stdout to a file, nothing in user space
// but bpftrace itself. The rows run one after the other in each repeat, the order rotating per
// repeat; ratios pair the samples of one repeat. Issue 17 goal 1: the program ≤ 1.10× the floor.
//
//   sudo npx tsx bench/kernel-cost.ts [--repeat 5] [--flood 200000] [--churn 0] [--bpftrace PATH]
//       [--by-file] [--program NAME=FILE.bt ...] [--bpf-stats]
//
// --bpftrace: the bpftrace to measure (e.g. /var/cache/pausetrace-ci/bpftrace-sid, 0.27): the
// program and the floor are those of that version (rawtracepoint forms on 0.18+).
// --by-file: also the signal files added one at a time. --program: a built program of your own
// (placeholders filled; BEGIN must print a line starting with "P "), measured as one more row.
// --bpf-stats: also the run time of the program's own BPF programs per kill(), from the kernel's
// BPF statistics (kernel.bpf_stats_enabled, switched on only while the workload runs, then put
// back): what the bodies cost, apart from the hooks and from other people's load and tracers.
import {mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {pathToFileURL} from 'node:url'
import {bpftraceInfo, needsTraceableFunctions, traceableFunctions} from '../src/probe/bpftrace.js'
import {tracefsPath} from '../src/probe/environment.js'
import {buildTools, programFor, quiet, runWorkload, sampleBare, snapshotCode, type AroundWorkload, type Ctx, type ScenarioName} from './run.js'
import {foreignTracers, killAll, loadAvg, median, sleep} from './lib/proc.js'

export const GOAL = 1.1

/** Splits a built program into its bpf/*.bt parts (each begins with its `// name.bt — ` comment). */
function sections(program: string): Map<string, string> {
  const out = new Map<string, string>()
  const re = /^\/\/ ([\w-]+)\.bt — /gm
  const starts = [...program.matchAll(re)].map((m) => ({name: m[1], at: m.index ?? 0}))
  starts.forEach((s, i) => out.set(s.name, program.slice(s.at, starts[i + 1]?.at ?? program.length)))
  return out
}

function stripComments(text: string): string {
  return text.split('\n').map((l) => l.replace(/\/\/.*$/, '')).join('\n')
}

/** control.bt without the periodic flood print and the END clears (they name maps of other files). */
function control(text: string): string {
  return text.replace(/^interval:ms:250\s*\{[^}]*\}/m, '').replace(/^END\s*\{[^}]*\}/m, '')
}

/** Maps read but never assigned in a partial program get a value in BEGIN (bpftrace refuses them otherwise). */
function initMaps(text: string): string {
  const code = stripComments(text)
  const used = new Set([...code.matchAll(/@([a-z]\w*)/g)].map((m) => m[1]))
  const assigned = new Set([...code.matchAll(/@([a-z]\w*)(?:\[[^\]]*\])?\s*=(?!=)/g)].map((m) => m[1]))
  const missing = [...used].filter((m) => !assigned.has(m))
  return missing.length ? text.replace(/^BEGIN\s*\{/m, (b) => `${b} ${missing.map((m) => `@${m}[0] = 0;`).join(' ')}`) : text
}

/** The same hooks (tracepoints and raw tracepoints), each doing nothing: what attaching costs before any probe work. */
export function attachOnly(program: string, only?: RegExp): string {
  const hooks = [...stripComments(program).matchAll(/\b(?:tracepoint:[a-z_0-9]+:[a-z_0-9]+|rawtracepoint:[a-z_0-9]+)/g)].map((m) => m[0])
  const probes = new Set(hooks.filter((p) => !only || only.test(p)))
  return `BEGIN { printf("P 0 0 0 0\\n"); }\n${[...probes].map((p) => `${p} { }`).join('\n')}\n`
}

export interface Tier {
  name: string
  program?: string
}

export const FLOOR = 'floor: the same hooks, empty bodies'

export function tiers(all: string, sandboxes: string, opts: {byFile?: boolean; extra?: Tier[]} = {}): Tier[] {
  const s = sections(all)
  const c = control(s.get('control') ?? '')
  const part = (...names: string[]): string => initMaps([c, ...names.map((n) => s.get(n) ?? '')].join('\n'))
  return [
    {name: 'untraced'},
    {name: FLOOR, program: attachOnly(all)},
    ...(opts.byFile
      ? [
          {name: 'signal-syscalls.bt alone (kill enter/exit stash; no limiter without generate: one S line per kill)', program: part('signal-syscalls')},
          {name: '+ signal-generate.bt (flood limiter)', program: part('signal-syscalls', 'signal-generate')},
          {name: '+ signal-deliver.bt (delivery limiter)', program: part('signal-syscalls', 'signal-generate', 'signal-deliver')},
        ]
      : []),
    {name: 'whole program, scope all (what bare/record --all run)', program: all},
    {name: 'whole program, default scope (the flood is on the host: filtered out)', program: sandboxes},
    ...(opts.extra ?? []),
  ]
}

const BPF_STATS = '/proc/sys/kernel/bpf_stats_enabled'

/**
 * run_time_ns and run_cnt summed over the BPF programs a process holds open (its fdinfo) that ran
 * at least `minRuns` times: those the workload runs, not those other people's activity ran.
 */
export function programRunTime(pid: number, minRuns: number): {ns: number; runs: number} {
  let ns = 0
  let runs = 0
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    let text: string
    try {
      text = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8')
    } catch {
      continue
    }
    const t = /^run_time_ns:\s*(\d+)/m.exec(text)
    const c = /^run_cnt:\s*(\d+)/m.exec(text)
    if (t && c && Number(c[1]) >= minRuns) {
      ns += Number(t[1])
      runs += Number(c[1])
    }
  }
  return {ns, runs}
}

/** The workload run with the kernel's BPF statistics on; `got` receives the programs' run time. */
function withBpfStats(minRuns: number, got: (r: {ns: number; runs: number}) => void): AroundWorkload {
  return async (pid, run) => {
    const before = readFileSync(BPF_STATS, 'utf8').trim()
    writeFileSync(BPF_STATS, '1')
    try {
      return await run()
    } finally {
      if (before !== '1') writeFileSync(BPF_STATS, before)
      if (pid) got(programRunTime(pid, minRuns))
    }
  }
}

/** min of a list (NaN when empty) */
function best(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x))
  return v.length ? Math.min(...v) : Number.NaN
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2)
  const opt = (name: string, def: number): number => {
    const i = argv.indexOf(name)
    return i >= 0 ? Number(argv[i + 1]) : def
  }
  const str = (name: string): string | undefined => {
    const i = argv.indexOf(name)
    return i >= 0 ? argv[i + 1] : undefined
  }
  const repeat = opt('--repeat', 3)
  const flood = opt('--flood', 200_000)
  const churn = opt('--churn', 0)
  const bpfStats = argv.includes('--bpf-stats')
  const extra: Tier[] = []
  argv.forEach((a, i) => {
    if (a !== '--program') return
    const [name, file] = (argv[i + 1] ?? '').split(/=(.*)/s)
    if (!name || !file) throw new Error('--program NAME=FILE.bt')
    extra.push({name, program: readFileSync(file, 'utf8')})
  })
  const info = await bpftraceInfo(str('--bpftrace'))
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-kcost-'))
  const code = await snapshotCode()
  const ctx: Ctx = {tools: buildTools(), info, dir, code, roots: new Set(), log: (l) => process.stderr.write(`${l}\n`), quietWaitMs: 20_000, retries: 0, seq: 0}
  const ts = tiers(programFor(info, 'all', code.planTrace), programFor(info, 'sandboxes', code.planTrace), {byFile: argv.includes('--by-file'), extra})
  // bpftrace 0.24+ on a kernel whose available_filter_functions cannot be read: name the raw tracepoints' functions
  const extraArgs = (program: string): string[] | undefined => {
    const fns = traceableFunctions(program)
    if (fns.length === 0 || !needsTraceableFunctions(info, tracefsPath())) return undefined
    const file = path.join(dir, `traceable-${ctx.seq}`)
    writeFileSync(file, `${fns.join('\n')}\n`)
    return ['--traceable-functions', file]
  }
  const workloads: Array<{label: string; args: string[]; per: number; unit: string}> = [{label: 'flood', args: ['flood', String(flood)], per: flood, unit: 'kill()'}]
  if (churn > 0) workloads.push({label: 'churn', args: ['churn', String(churn)], per: churn, unit: 'fork/exit/reap'})
  const load0 = loadAvg()
  const foreign = new Set<string>()
  try {
    for (const w of workloads) {
      // [row][repeat]: the workload's wall time and its own CPU time (where the probes run: in its
      // syscalls). CPU time does not count waiting for a CPU, so it is the steadier figure while
      // other people's runs share the 2 CPUs; their tracers on the same hooks still add to both.
      const wall: Record<string, number[]> = {}
      const cpu: Record<string, number[]> = {}
      const progNs: Record<string, number[]> = {}
      for (let r = 0; r < repeat; r++) {
        for (const f of await quiet(ctx)) foreign.add(f)
        // the order rotates per repeat, so that no row always follows the same one
        const order = ts.map((_, i) => ts[(i + r) % ts.length])
        for (const t of order) {
          let m: Record<string, number>
          if (t.program === undefined) m = await runWorkload(ctx, w.args)
          else {
            const around = bpfStats ? withBpfStats(w.per * 0.9, (p) => ((progNs[t.name] ??= [])[r] = p.ns / w.per)) : undefined
            m = (await sampleBare(ctx, {scenario: w.label as ScenarioName, variant: 'bare', repeat: r, load: [], foreign: []}, w.args, t.program, extraArgs(t.program), around)).manifest
          }
          ;(wall[t.name] ??= [])[r] = m.ns / 1e6
          ;(cpu[t.name] ??= [])[r] = (m.cpuSelfUs + (m.cpuChildrenUs ?? 0)) / 1000
          for (const f of foreignTracers()) foreign.add(f)
          ctx.log(`  ${w.label} #${r} ${t.name}: ${wall[t.name][r].toFixed(0)} ms, CPU ${cpu[t.name][r].toFixed(0)} ms${progNs[t.name]?.[r] === undefined ? '' : `, BPF programs ${progNs[t.name][r].toFixed(0)} ns per ${w.unit}`}`)
          await sleep(200)
        }
      }
      process.stdout.write(`\n${w.label}: ${w.args.join(' ')}, bpftrace ${info.version} (${info.command}), kernel ${os.release()}, git ${code.commit}${code.dirty.length ? ' (uncommitted changes)' : ''}, ${repeat} repeats, load ${load0.join(' ')} → ${loadAvg().join(' ')}, foreign bpftrace/podman seen: ${[...foreign].join(' ') || 'none'}\n`)
      for (const [what, ms] of [['workload CPU time', cpu], ['workload wall time', wall]] as const) {
        const paired = (name: string, ref: string): number[] => (ms[name] ?? []).map((v, r) => v / (ms[ref]?.[r] ?? Number.NaN))
        process.stdout.write(`\n${what}:\n\n| probes | ms median (best) | vs untraced median, paired | added ns per ${w.unit} (median, paired) | vs floor median, paired (goal ≤ ${GOAL.toFixed(2)}×) | vs floor best-of-${repeat} | met (median / best) |\n|---|---|---|---|---|---|---|\n`)
        for (const t of ts) {
          const m = ms[t.name] ?? []
          const isFloor = t.name === FLOOR
          const vsU = t.name === 'untraced' ? '' : `${median(paired(t.name, 'untraced')).toFixed(2)}×`
          const added = t.name === 'untraced' ? '' : ((median(m.map((v, r) => v - (ms.untraced?.[r] ?? Number.NaN))) * 1e6) / w.per).toFixed(0)
          const vsF = t.program === undefined || isFloor ? undefined : median(paired(t.name, FLOOR))
          const bestF = t.program === undefined || isFloor ? undefined : best(m) / best(ms[FLOOR] ?? [])
          const met = vsF === undefined || bestF === undefined ? '' : `${vsF <= GOAL ? 'yes' : 'NO'} / ${bestF <= GOAL ? 'yes' : 'NO'}`
          process.stdout.write(`| ${t.name} | ${median(m).toFixed(0)} (${best(m).toFixed(0)}) | ${vsU} | ${added} | ${vsF === undefined ? '' : `${vsF.toFixed(2)}×`} | ${bestF === undefined ? '' : `${bestF.toFixed(2)}×`} | ${met} |\n`)
        }
      }
      if (bpfStats) {
        // the bodies' cost added to the floor's CPU time: an estimate of the ratio without the noise
        // (other people's load inflates CPU times, never shrinks them: the best floor CPU is the denominator)
        const floorCpu = best(cpu[FLOOR] ?? [])
        const est = (ns: number, floorNs: number): string => `${(1 + ((ns - floorNs) * w.per) / 1e6 / floorCpu).toFixed(2)}×`
        process.stdout.write(`\nrun time of the BPF programs the workload runs (those run ≥ 90 % as often as it calls; kernel.bpf_stats_enabled, which adds its own clock reads), ns per ${w.unit}; "floor + bodies" = (the floor's best CPU time + (this − the floor's) × calls) / the floor's best CPU time (${floorCpu.toFixed(0)} ms):\n\n| probes | ns per ${w.unit} median (best) | floor + bodies, medians (goal ≤ ${GOAL.toFixed(2)}×) | floor + bodies, bests |\n|---|---|---|---|\n`)
        for (const t of ts) {
          if (t.program === undefined) continue
          const v = progNs[t.name] ?? []
          const f = progNs[FLOOR] ?? []
          const isFloor = t.name === FLOOR
          process.stdout.write(`| ${t.name} | ${median(v).toFixed(0)} (${best(v).toFixed(0)}) | ${isFloor ? '' : est(median(v), median(f))} | ${isFloor ? '' : est(best(v), best(f))} |\n`)
        }
      }
    }
  } finally {
    killAll()
    rmSync(dir, {recursive: true, force: true})
    rmSync(code.dir, {recursive: true, force: true})
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: Error) => {
    killAll()
    process.stderr.write(`${err.stack}\n`)
    process.exit(1)
  })
}
