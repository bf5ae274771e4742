// What pausetrace's probes cost inside the kernel, per kill(): the signal flood run untraced and
// under bpftrace with the probes added one file at a time (stdout to a file, nothing in user
// space but bpftrace itself). Each traced time is paired with an untraced run next to it; the
// table gives the median added ns per kill().
//
//   sudo npx tsx bench/kernel-cost.ts [--repeat 3] [--flood 200000] [--churn 0]
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {pathToFileURL} from 'node:url'
import {bpftraceInfo} from '../src/probe/bpftrace.js'
import {buildTools, programFor, quiet, runWorkload, sampleBare, snapshotCode, type Ctx, type ScenarioName} from './run.js'
import {foreignTracers, killAll, loadAvg, median, sleep} from './lib/proc.js'

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

/** The same tracepoints, each doing nothing: what attaching costs before any probe work. */
function attachOnly(program: string, only?: RegExp): string {
  const probes = new Set([...stripComments(program).matchAll(/\btracepoint:[a-z_0-9]+:[a-z_0-9]+/g)].map((m) => m[0]).filter((p) => !only || only.test(p)))
  return `BEGIN { printf("P 0 0 0 0\\n"); }\n${[...probes].map((p) => `${p} { }`).join('\n')}\n`
}

export interface Tier {
  name: string
  program?: string
}

export function tiers(all: string, sandboxes: string): Tier[] {
  const s = sections(all)
  const c = control(s.get('control') ?? '')
  const part = (...names: string[]): string => initMaps([c, ...names.map((n) => s.get(n) ?? '')].join('\n'))
  return [
    {name: 'untraced'},
    {name: 'signal_generate + signal_deliver only, empty bodies', program: attachOnly(all, /^tracepoint:signal:/)},
    {name: 'kill enter/exit only, empty bodies (syscall tracepoints)', program: attachOnly(all, /^tracepoint:syscalls:sys_(enter|exit)_kill$/)},
    {name: 'the same tracepoints, empty bodies'},
    {name: 'signal-syscalls.bt alone (kill enter/exit stash; no limiter without generate: one S line per kill)', program: part('signal-syscalls')},
    {name: '+ signal-generate.bt (flood limiter)', program: part('signal-syscalls', 'signal-generate')},
    {name: '+ signal-deliver.bt (delivery limiter)', program: part('signal-syscalls', 'signal-generate', 'signal-deliver')},
    {name: 'whole program, scope all (what bare/record --all run)', program: all},
    {name: 'whole program, default scope (the flood is on the host: filtered out)', program: sandboxes},
  ].map((t) => (t.name.startsWith('the same') ? {...t, program: attachOnly(all)} : t))
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2)
  const opt = (name: string, def: number): number => {
    const i = argv.indexOf(name)
    return i >= 0 ? Number(argv[i + 1]) : def
  }
  const repeat = opt('--repeat', 3)
  const flood = opt('--flood', 200_000)
  const churn = opt('--churn', 0)
  const info = await bpftraceInfo()
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-kcost-'))
  const code = await snapshotCode()
  const ctx: Ctx = {tools: buildTools(), info, dir, code, roots: new Set(), log: (l) => process.stderr.write(`${l}\n`), quietWaitMs: 20_000, retries: 0, seq: 0}
  const ts = tiers(programFor(info, 'all', code.planTrace), programFor(info, 'sandboxes', code.planTrace))
  const workloads: Array<{label: string; args: string[]; per: number; unit: string}> = [{label: 'flood', args: ['flood', String(flood)], per: flood, unit: 'kill()'}]
  if (churn > 0) workloads.push({label: 'churn', args: ['churn', String(churn)], per: churn, unit: 'fork/exit/reap'})
  const load0 = loadAvg()
  const foreign = new Set<string>()
  try {
    for (const w of workloads) {
      const ms: Record<string, number[]> = {}
      const added: Record<string, number[]> = {}
      for (let r = 0; r < repeat; r++) {
        for (const f of await quiet(ctx)) foreign.add(f)
        const base = (await runWorkload(ctx, w.args)).ns / 1e6
        ;(ms.untraced ??= []).push(base)
        for (const t of ts.slice(1)) {
          const s = await sampleBare(ctx, {scenario: w.label as ScenarioName, variant: 'bare', repeat: r, load: [], foreign: []}, w.args, t.program)
          const after = (await runWorkload(ctx, w.args)).ns / 1e6
          ;(ms[t.name] ??= []).push(s.workloadMs)
          ;(ms.untraced ??= []).push(after)
          // paired with the mean of the untraced runs just before and after it
          const prev = ms.untraced[ms.untraced.length - 2]
          ;(added[t.name] ??= []).push(((s.workloadMs - (prev + after) / 2) * 1e6) / w.per)
          for (const f of foreignTracers()) foreign.add(f)
          ctx.log(`  ${w.label} #${r} ${t.name}: ${s.workloadMs.toFixed(0)} ms (untraced around it ${prev.toFixed(0)}, ${after.toFixed(0)})`)
          await sleep(200)
        }
      }
      process.stdout.write(`\n${w.label}: ${w.args.join(' ')}, ${repeat} repeats, load ${load0.join(' ')} → ${loadAvg().join(' ')}, foreign bpftrace/podman seen: ${[...foreign].join(' ') || 'none'}\n\n`)
      process.stdout.write(`| probes | workload ms (median) | added ns per ${w.unit} (median, paired) |\n|---|---|---|\n`)
      for (const t of ts) {
        process.stdout.write(`| ${t.name} | ${median(ms[t.name] ?? []).toFixed(0)} | ${t.name === 'untraced' ? '' : median(added[t.name] ?? []).toFixed(0)} |\n`)
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
