// The node's bill (issue 17, goal 5): a workload that looks like a Kubernetes node, not a stress
// test — N namespace sandboxes with a health-check exec per sandbox per second, a crash-looping
// container, a dropped SIGTERM and a SIGHUP to a pause every 10 s (bench/workloads/nodework.c) —
// left to run --seconds under each variant in turn: untraced, `record`, `record --explain`,
// `record --metrics` (scraped every 15 s). Reports pausetrace's CPU (node + bpftrace) as a
// percentage of one core, with and without its start-up, its peak RSS, events, lost, findings.
//
//   sudo npx tsx bench/node-bill.ts [--seconds 120] [--sandboxes 30] [--variants untraced,record,explain,metrics] [--out bench/node-bill.json] [--keep]
//
// Every process is started by this script and stopped by PID (SIGINT to pausetrace, SIGTERM then
// SIGKILL to the workload, whose sandboxes die with it); the end checks that none is left.
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {parseArgs} from 'node:util'
import {ensurePause} from '../src/lab/build-pause.js'
import {bpftraceInfo} from '../src/probe/bpftrace.js'
import {BENCH, BUILD, ROOT, compile} from './lib/compile.js'
import {childrenOf, commOf, cpuMs, foreignTracers, killAll, loadAvg, sleep, start, vmHwmKb, waitFor, type Proc} from './lib/proc.js'

const CLI = path.join(ROOT, 'bin', 'run.js')

const GOAL_CPU_PCT = 2
const GOAL_RSS_MB = 150
const SCRAPE_MS = 15_000

type Variant = 'untraced' | 'record' | 'explain' | 'metrics'

interface Rusage {
  userUs: number
  sysUs: number
  maxRssKb: number
  code: number
  signal: number
}

interface Work {
  ms: number
  checks: number
  checkFailed: number
  crashes: number
  signals: number
  sandboxDied: number
  selfUs: number
  childrenUs: number
}

interface MemNow {
  rssMb: number
  pssMb: number
  privateMb: number
}

/** Rss, Pss and Private_Clean+Private_Dirty of a PID now (smaps_rollup), in MB. */
function memNow(pid: number): MemNow | undefined {
  try {
    const kb = new Map<string, number>()
    for (const l of readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').split('\n')) {
      const m = /^(\w+):\s+(\d+) kB/.exec(l)
      if (m) kb.set(m[1], Number(m[2]))
    }
    return {rssMb: (kb.get('Rss') ?? 0) / 1024, pssMb: (kb.get('Pss') ?? 0) / 1024, privateMb: ((kb.get('Private_Clean') ?? 0) + (kb.get('Private_Dirty') ?? 0)) / 1024}
  } catch {
    return undefined
  }
}

interface Result {
  variant: Variant
  seconds: number
  workload: Work & {cpuPct: number}
  attachMs?: number
  /** CPU over the traced window (attached → end), % of one core */
  cpuPct?: number
  nodeCpuPct?: number
  bpftraceCpuPct?: number
  /** CPU over the whole life (spawn → exit, start-up and stop included) / the traced window */
  cpuPctWithStartup?: number
  startupCpuMs?: {node: number; bpftrace: number}
  totalCpuMs?: {node: number; bpftrace: number}
  nodeRssMb?: number
  bpftraceRssMb?: number
  /** at the end of the window, from /proc/PID/smaps_rollup: resident now, proportional share, private (MB) */
  atEnd?: {node?: MemNow; bpftrace?: MemNow}
  events?: number
  lost?: number
  reason?: string
  kinds?: Record<string, number>
  findings?: string[]
  findingKinds?: Record<string, number>
  scrapes?: {count: number; failed: number; lastBytes: number; series?: number}
  foreign: string[]
  load: number[]
  error?: string
}

const USAGE = 'usage: sudo npx tsx bench/node-bill.ts [--seconds 120] [--sandboxes 30] [--variants untraced,record,explain,metrics] [--out bench/node-bill.json] [--keep]'
const VARIANTS: readonly Variant[] = ['untraced', 'record', 'explain', 'metrics']

/** The command line, strictly: an unknown flag or a bad value is one line and exit 2, before anything starts. */
function options(): {seconds: number; sandboxes: number; variants: Variant[]; out: string; keep: boolean} {
  let v
  try {
    v = parseArgs({options: {seconds: {type: 'string', default: '120'}, sandboxes: {type: 'string', default: '30'}, variants: {type: 'string', default: VARIANTS.join(',')}, out: {type: 'string', default: path.join(BENCH, 'node-bill.json')}, keep: {type: 'boolean', default: false}, help: {type: 'boolean', short: 'h', default: false}}}).values
  } catch (e) {
    usageError((e as Error).message)
  }
  if (v.help) {
    process.stdout.write(`${USAGE}\n`)
    process.exit(0)
  }
  const seconds = Number(v.seconds)
  const sandboxes = Number(v.sandboxes)
  const variants = v.variants.split(',') as Variant[]
  if (!(seconds > 0)) usageError(`--seconds: a positive number of seconds, not ${JSON.stringify(v.seconds)}`)
  if (!Number.isInteger(sandboxes) || sandboxes < 3) usageError(`--sandboxes: a whole number ≥ 3, not ${JSON.stringify(v.sandboxes)}`)
  const bad = variants.filter((x) => !VARIANTS.includes(x))
  if (bad.length > 0) usageError(`--variants: unknown ${bad.join(', ')} (known: ${VARIANTS.join(', ')})`)
  return {seconds, sandboxes, variants, out: v.out, keep: v.keep}
}

function usageError(msg: string): never {
  process.stderr.write(`node-bill: ${msg}\n${USAGE}\n`)
  process.exit(2)
}


function readRusage(file: string): Rusage | undefined {
  if (!existsSync(file)) return undefined
  const l = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((x) => JSON.parse(x) as Rusage & {argc: number})
  return l[l.length - 1]
}

/** All descendants of a PID (node → statwrap-as-bpftrace → bpftrace). */
function descendants(pid: number): number[] {
  const out: number[] = []
  for (const c of childrenOf(pid)) out.push(c, ...descendants(c))
  return out
}

/** Every PID we made, with its comm, to check at the end that none is left. */
const made = new Map<number, string>()
function remember(pid: number): void {
  const c = commOf(pid)
  if (c) made.set(pid, c)
}

const current: {work?: Proc; rec?: Proc} = {}

async function stopProc(p: Proc | undefined, sig: NodeJS.Signals, graceMs: number): Promise<void> {
  if (!p || p.done) return
  try {
    process.kill(p.pid, sig)
  } catch {}
  if (!(await waitFor(() => p.done, graceMs, 20))) {
    try {
      process.kill(p.pid, 'SIGKILL')
    } catch {}
    await waitFor(() => p.done, 5000, 20)
  }
}

async function cleanup(): Promise<void> {
  await stopProc(current.rec, 'SIGINT', 15_000)
  await stopProc(current.work, 'SIGTERM', 5000)
  killAll()
}

let interrupted = false
for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.on(s, () => {
    if (interrupted) return
    interrupted = true
    console.error(`\n${s}: stopping everything (by PID) …`)
    void cleanup().then(() => {
      leftovers(true)
      process.exit(130)
    })
  })

function leftovers(say: boolean): string[] {
  const left: string[] = []
  for (const [pid, comm] of made) if (commOf(pid) === comm && readStateNotZombie(pid)) left.push(`${comm}[${pid}]`)
  if (say) console.error(left.length ? `LEFT RUNNING: ${left.join(' ')}` : 'nothing left running (checked every PID this run made)')
  return left
}

function readStateNotZombie(pid: number): boolean {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

async function startWorkload(nodework: string, pause: string, sandboxes: number): Promise<{p: Proc; ready: {pid1: number[]; holders: number[]}}> {
  const p = start(nodework, [pause, String(sandboxes), '0'])
  current.work = p
  made.set(p.pid, 'nodework')
  if (!(await waitFor(() => p.stdout().includes('\n') || p.done, 30_000, 20)) || p.done) throw new Error(`nodework did not start: ${p.stderr()}`)
  const ready = JSON.parse(p.stdout().split('\n')[0]) as {pid1: number[]; holders: number[]}
  for (const x of [...ready.pid1, ...ready.holders]) remember(x)
  return {p, ready}
}

async function endWorkload(p: Proc): Promise<Work & {cpuPct: number}> {
  process.kill(p.pid, 'SIGTERM')
  if (!(await waitFor(() => p.done, 15_000, 20))) await stopProc(p, 'SIGKILL', 0)
  current.work = undefined
  const last = p.stdout().trim().split('\n').pop() ?? ''
  const w = JSON.parse(last) as Work
  return {...w, cpuPct: ((w.selfUs + w.childrenUs) / 1000 / w.ms) * 100}
}

async function scrape(url: string): Promise<string> {
  const r = await fetch(url, {signal: AbortSignal.timeout(5000)})
  if (!r.ok) throw new Error(`HTTP ${r.status}`)
  return r.text()
}

async function runVariant(v: Variant, o: {seconds: number; sandboxes: number; dir: string; nodework: string; pause: string; statwrap: string; btWrap: string; realBt: string}): Promise<Result> {
  const load = loadAvg()
  const foreign = new Set(foreignTracers())
  const {p: work} = await startWorkload(o.nodework, o.pause, o.sandboxes)
  await sleep(3000) // let the sandboxes settle into their rhythm
  const res: Result = {variant: v, seconds: o.seconds, workload: undefined as unknown as Result['workload'], foreign: [], load}
  try {
    if (v === 'untraced') {
      const end = Date.now() + o.seconds * 1000
      while (Date.now() < end) {
        for (const f of foreignTracers()) foreign.add(f)
        await sleep(Math.min(5000, end - Date.now()))
      }
    } else await traced(v, o, res, foreign)
  } finally {
    res.workload = await endWorkload(work)
  }
  res.foreign = [...foreign].sort()
  return res
}

async function traced(v: Variant, o: {seconds: number; dir: string; statwrap: string; btWrap: string; realBt: string}, res: Result, foreign: Set<string>): Promise<void> {
  const trace = path.join(o.dir, `${v}.jsonl`)
  const nodeStat = path.join(o.dir, `${v}.node.stat`)
  const btStat = path.join(o.dir, `${v}.bt.stat`)
  const port = 19_000 + Math.floor(Math.random() * 2000)
  const extra = v === 'explain' ? ['--explain'] : v === 'metrics' ? ['--metrics', `127.0.0.1:${port}`] : []
  const env = {...process.env, BENCH_STAT_OUT: btStat, BENCH_REAL_BPFTRACE: o.realBt}
  const t0 = performance.now()
  const rec = start(o.statwrap, [nodeStat, process.execPath, CLI, 'record', '-o', trace, '--force', ...extra, '--bpftrace', o.btWrap], {env, cwd: ROOT})
  current.rec = rec
  made.set(rec.pid, commOf(rec.pid) ?? 'statwrap')
  const hasLine = (): boolean => {
    try {
      return statSync(trace).size > 0 && readFileSync(trace).includes(0x0a)
    } catch {
      return false
    }
  }
  if (!(await waitFor(() => hasLine() || rec.done, 120_000, 20)) || rec.done) throw new Error(`record did not attach: ${rec.stderr().slice(-600)}`)
  res.attachMs = performance.now() - t0
  const nodePid = childrenOf(rec.pid)[0]
  const mine = descendants(nodePid)
  for (const x of [nodePid, ...mine]) remember(x)
  const btPids = mine.filter((x) => commOf(x) === 'bpftrace')
  const cpu = (): {node: number; bt: number} => ({node: cpuMs(nodePid) ?? Number.NaN, bt: btPids.reduce((s, x) => s + (cpuMs(x) ?? 0), 0)})
  const c0 = cpu()
  const w0 = performance.now()
  res.startupCpuMs = {node: c0.node, bpftrace: c0.bt}
  let nodeHwm = 0
  const scrapes = {count: 0, failed: 0, lastBytes: 0, series: undefined as number | undefined}
  let nextScrape = w0 + 1000
  const end = w0 + o.seconds * 1000
  while (performance.now() < end && !rec.done) {
    nodeHwm = Math.max(nodeHwm, vmHwmKb(nodePid) ?? 0)
    if (v === 'metrics' && performance.now() >= nextScrape) {
      nextScrape += SCRAPE_MS
      try {
        const body = await scrape(`http://127.0.0.1:${port}/metrics`)
        scrapes.count++
        scrapes.lastBytes = body.length
        scrapes.series = body.split('\n').filter((l) => l && !l.startsWith('#')).length
      } catch {
        scrapes.failed++
      }
    }
    for (const f of foreignTracers(new Set([rec.pid]))) foreign.add(f)
    await sleep(Math.min(1000, Math.max(0, end - performance.now())))
  }
  if (rec.done) throw new Error(`record ended early: ${rec.stderr().slice(-600)}`)
  const c1 = cpu()
  const realBt = btPids.find((x) => childrenOf(x).length === 0) ?? btPids[btPids.length - 1]
  res.atEnd = {node: memNow(nodePid), bpftrace: realBt ? memNow(realBt) : undefined}
  const windowMs = performance.now() - w0
  nodeHwm = Math.max(nodeHwm, vmHwmKb(nodePid) ?? 0)
  if (v === 'metrics') res.scrapes = scrapes
  process.kill(rec.pid, 'SIGINT')
  while (!(await waitFor(() => rec.done, 200, 10))) nodeHwm = Math.max(nodeHwm, vmHwmKb(nodePid) ?? 0)
  current.rec = undefined
  const nodeRu = readRusage(nodeStat)
  const btRu = readRusage(btStat)
  const us = (r: Rusage | undefined): number => (r ? (r.userUs + r.sysUs) / 1000 : Number.NaN)
  const btTotal = us(btRu)
  const nodeTotal = us(nodeRu) - btTotal // node's rusage includes its reaped bpftrace
  res.totalCpuMs = {node: nodeTotal, bpftrace: btTotal}
  res.nodeCpuPct = ((c1.node - c0.node) / windowMs) * 100
  res.bpftraceCpuPct = ((c1.bt - c0.bt) / windowMs) * 100
  res.cpuPct = res.nodeCpuPct + res.bpftraceCpuPct
  res.cpuPctWithStartup = ((nodeTotal + btTotal) / windowMs) * 100
  res.nodeRssMb = Math.max(nodeHwm, 0) / 1024
  res.bpftraceRssMb = btRu ? btRu.maxRssKb / 1024 : undefined
  const lines = readFileSync(trace, 'utf8').trimEnd().split('\n')
  const footer = JSON.parse(lines[lines.length - 1]) as {type?: string; events?: number; lost?: number; reason?: string; kinds?: Record<string, number>}
  res.events = footer.events
  res.lost = footer.lost
  res.reason = footer.reason
  res.kinds = footer.kinds
  if (v === 'explain') {
    res.findings = rec.stderr().split('\n').filter((l) => /crash-loop|sigterm-ignored|signal-to-pause|zombies|pause-died|grace-period|sandbox-recreated|oom-kill|signal-flood/.test(l)).map((l) => l.trim()).slice(0, 40)
    try {
      // explain --json: one JSON record per line, findings as {"type":"finding","kind":...}
      const text = execFileSync(process.execPath, [CLI, 'explain', trace, '--json'], {cwd: ROOT, maxBuffer: 1 << 28}).toString()
      const list = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as {type?: string; kind: string}).filter((x) => x.type === 'finding')
      const kinds: Record<string, number> = {}
      for (const f of list) kinds[f.kind] = (kinds[f.kind] ?? 0) + 1
      res.findingKinds = kinds
    } catch (e) {
      res.findingKinds = {error: 1}
      console.error(`explain --json: ${String(e).slice(0, 300)}`)
    }
    writeFileSync(path.join(o.dir, 'explain.stderr'), rec.stderr())
  }
}

function f(x: number | undefined, d = 1): string {
  return x === undefined || !Number.isFinite(x) ? '' : x.toFixed(d)
}

function render(meta: Record<string, unknown>, results: Result[]): string {
  const out: string[] = []
  out.push(`pausetrace node bill, ${meta.date}, ${meta.cpus} CPUs, kernel ${meta.kernel}, bpftrace ${meta.bpftrace}, node ${process.version}, git ${meta.commit}`)
  out.push(`${meta.sandboxes} sandboxes, ${meta.seconds} s traced per variant; load ${(meta.loadStart as number[]).join(' ')} → ${(meta.loadEnd as number[]).join(' ')}`)
  out.push('')
  out.push('| variant | pausetrace CPU % of a core (goal ≤ 2) | met | node % | bpftrace % | with start-up+stop % | start-up CPU ms node / bpftrace | attach ms | node MB | bpftrace MB | RSS node+bpftrace MB (goal ≤ 150) | met | events | lost | workload CPU % | checks / crashes / signals | foreign tracers seen |')
  out.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|')
  for (const r of results) {
    const rss = r.nodeRssMb !== undefined && r.bpftraceRssMb !== undefined ? r.nodeRssMb + r.bpftraceRssMb : undefined
    const t = r.variant !== 'untraced'
    out.push(`| ${r.variant}${r.error ? ` (ERROR: ${r.error.slice(0, 80)})` : ''} | ${f(r.cpuPct, 2)} | ${t ? (r.cpuPct !== undefined && r.cpuPct <= GOAL_CPU_PCT ? 'yes' : 'NO') : ''} | ${f(r.nodeCpuPct, 2)} | ${f(r.bpftraceCpuPct, 2)} | ${f(r.cpuPctWithStartup, 2)} | ${r.startupCpuMs ? `${f(r.startupCpuMs.node, 0)} / ${f(r.startupCpuMs.bpftrace, 0)}` : ''} | ${f(r.attachMs, 0)} | ${f(r.nodeRssMb)} | ${f(r.bpftraceRssMb)} | ${f(rss)} | ${t ? (rss !== undefined && rss <= GOAL_RSS_MB ? 'yes' : 'NO') : ''} | ${r.events ?? ''} | ${r.lost ?? ''} | ${f(r.workload?.cpuPct, 2)} | ${r.workload ? `${r.workload.checks} / ${r.workload.crashes} / ${r.workload.signals}${r.workload.checkFailed ? ` (${r.workload.checkFailed} failed)` : ''}${r.workload.sandboxDied ? ` (${r.workload.sandboxDied} sandboxes died)` : ''}` : ''} | ${r.foreign.length ? r.foreign.join(' ') : 'none'} |`)
  }
  for (const r of results) {
    if (r.findingKinds) out.push('', `${r.variant}: findings by kind (explain --json of its file): ${JSON.stringify(r.findingKinds)}`)
    if (r.findings?.length) out.push(`${r.variant}: finding lines --explain printed (first ${Math.min(r.findings.length, 6)}):`, ...r.findings.slice(0, 6).map((l) => `  ${l.slice(0, 220)}`))
    if (r.atEnd) out.push('', `${r.variant}: memory at the end of the window (smaps_rollup) — node: RSS ${f(r.atEnd.node?.rssMb)}, PSS ${f(r.atEnd.node?.pssMb)}, private ${f(r.atEnd.node?.privateMb)} MB; bpftrace: RSS ${f(r.atEnd.bpftrace?.rssMb)}, PSS ${f(r.atEnd.bpftrace?.pssMb)}, private ${f(r.atEnd.bpftrace?.privateMb)} MB`)
    if (r.scrapes) out.push('', `${r.variant}: ${r.scrapes.count} scrapes (${r.scrapes.failed} failed), last ${r.scrapes.lastBytes} bytes, ${r.scrapes.series ?? '?'} samples`)
  }
  return out.join('\n')
}

async function main(): Promise<void> {
  const {seconds, sandboxes, variants, out: outFile, keep} = options()
  if (process.getuid?.() !== 0) throw new Error('run as root (sudo npx tsx bench/node-bill.ts)')
  const nodework = compile('nodework')
  const statwrap = compile('statwrap')
  const btWrap = path.join(BUILD, 'wrap', 'bpftrace')
  mkdirSync(path.dirname(btWrap), {recursive: true})
  if (!existsSync(btWrap)) execFileSync('ln', ['-s', '../statwrap', btWrap])
  const pause = await ensurePause()
  const info = await bpftraceInfo()
  const realBt = (info as {command?: string}).command ?? '/usr/bin/bpftrace'
  const dir = mkdtempSync(path.join(os.tmpdir(), 'node-bill-'))
  let commit = ''
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {cwd: ROOT}).toString().trim()
  } catch {}
  const meta: Record<string, unknown> = {
    date: new Date().toISOString(), cpus: os.cpus().length, kernel: os.release(), bpftrace: (info as {version?: string}).version ?? '?', commit, seconds, sandboxes, loadStart: loadAvg(), dir,
  }
  console.error(`node bill: ${sandboxes} sandboxes, ${seconds} s per variant (${variants.join(', ')}); work directory ${dir}`)
  const results: Result[] = []
  for (const v of variants) {
    if (interrupted) break
    console.error(`  ${v} …`)
    let r: Result
    try {
      r = await runVariant(v, {seconds, sandboxes, dir, nodework, pause, statwrap, btWrap, realBt})
    } catch (e) {
      await cleanup()
      r = {variant: v, seconds, workload: undefined as unknown as Result['workload'], foreign: foreignTracers(), load: loadAvg(), error: String((e as Error).message ?? e)}
    }
    results.push(r)
    console.error(`  ${v}: ${r.error ? `ERROR ${r.error}` : `pausetrace ${f(r.cpuPct, 2)} % (${f(r.cpuPctWithStartup, 2)} % with start-up), RSS ${f(r.nodeRssMb)} + ${f(r.bpftraceRssMb)} MB, events ${r.events ?? '-'}, lost ${r.lost ?? '-'}, workload ${f(r.workload?.cpuPct, 2)} %`}`)
  }
  meta.loadEnd = loadAvg()
  const left = leftovers(true)
  meta.leftovers = left
  writeFileSync(outFile, JSON.stringify({meta, goals: {cpuPctOfOneCore: GOAL_CPU_PCT, rssMb: GOAL_RSS_MB}, results}, null, 2) + '\n')
  console.log(render(meta, results))
  if (!keep) rmSync(dir, {recursive: true, force: true})
  else console.error(`kept ${dir}`)
}

main().catch(async (e) => {
  console.error(`node-bill: ${(e as Error).stack ?? e}`)
  await cleanup()
  leftovers(true)
  process.exit(1)
})
