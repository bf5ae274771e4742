// Events accounted for: reads a trace file (record) or bpftrace's raw output (bare bpftrace) and
// checks it against the workload's manifest. Every figure here is an exact count.
import {createReadStream} from 'node:fs'
import {createInterface} from 'node:readline'
import {parseBpftraceLine} from '../../src/stream/bpftrace-json.js'

type Rec = Record<string, any>

export async function* lines(file: string): AsyncGenerator<string> {
  const rl = createInterface({input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY})
  for await (const l of rl) if (l !== '') yield l
}

export interface Check {
  what: string
  expected: number
  found: number
}

export interface Accounting {
  /** every check found exactly what was expected, nothing was lost, the footer is there */
  exact: boolean
  checks: Check[]
  events: number
  records: number
  lost: number
  footer: boolean
  /** per event kind, from the footer */
  kinds: Record<string, number>
  /** events written after an event with a later time (the contract wants time order) */
  outOfOrder: number
  /** how far back the worst of them went, ms */
  maxLagMs: number
}

/** What a workload did, as its manifest says (see bench/workloads/benchwork.c). */
export type Manifest = Rec

interface Tally {
  check: (what: string, expected: number, found: number) => void
}

/** Counts what the trace file says about the workload; `expect` names the checks for the manifest. */
export async function accountTrace(file: string, m: Manifest, scope: 'all' | 'sandboxes'): Promise<Accounting> {
  const watch = new Set<number>() // processes whose events we count
  const parents = new Map<number, number>() // child pid -> parent (from fork events of watched processes)
  const sandboxParts: Rec[] = m.mode === 'sandboxes' ? m.parts.filter((p: Rec) => p.mode === 'sandbox') : []
  const noise = new Set<number>(m.mode === 'sandboxes' ? m.noisePids : [])
  if (m.mode === 'sandboxes') for (const p of sandboxParts) watch.add(p.hostPid)
  else watch.add(m.pid)

  const c = {
    sig10: new Map<number, number>(), // sender -> SIGUSR1 signal events
    flood10: new Map<number, number>(), // sender -> flood counts of SIGUSR1
    del10: new Map<number, number>(),
    dflood10: new Map<number, number>(),
    sig0: new Map<number, number>(),
    forks: new Map<number, number>(),
    exits: new Map<number, number>(), // parent -> children exits with code 7
    reaps: new Map<number, number>(), // reaper -> children reaped exited 7
    sigchld: new Map<number, number>(), // parent -> SIGCHLD from its children
    selfExit: new Map<number, number>(), // watched process's own exit (code 0)
    selfReap: new Map<number, number>(),
    noiseEvents: 0,
  }
  const inc = (map: Map<number, number>, k: number, n = 1): void => {
    map.set(k, (map.get(k) ?? 0) + n)
  }
  let events = 0
  let records = 0
  let lost = 0
  let footer: Rec | undefined
  // Exits, reaps and SIGCHLD are matched to forks after the whole file is read: a line that came
  // later than the decoder's reorder window is written out of time order.
  const exits: Array<[number, number]> = [] // [pid, code] of whole-process exits
  const reaps: Array<[number, number, number | undefined]> = [] // [reaper, child, exited]
  const chld: Array<[number, number]> = [] // [from, to] kernel SIGCHLD
  let maxT = 0
  let outOfOrder = 0
  let maxLagNs = 0
  for await (const l of lines(file)) {
    records++
    const r = JSON.parse(l) as Rec
    if (r.type === 'lost') lost += r.count
    if (r.type === 'footer') footer = r
    if (r.type !== 'event') continue
    events++
    if (r.t < maxT) {
      outOfOrder++
      maxLagNs = Math.max(maxLagNs, maxT - r.t)
    } else maxT = r.t
    const pids = [r.from?.pid, r.to?.pid, r.proc?.pid, r.parent?.pid, r.child?.pid, r.reaper?.pid]
    if (pids.some((p) => p !== undefined && noise.has(p))) c.noiseEvents++
    switch (r.kind) {
      case 'signal':
        if (watch.has(r.from.pid) && r.sig === 10) inc(c.sig10, r.from.pid)
        if (watch.has(r.from.pid) && r.sig === 0) inc(c.sig0, r.from.pid)
        if (r.via === 'kernel' && r.sig === 17 && r.to) chld.push([r.from.pid, r.to.pid])
        break
      case 'flood':
        if (watch.has(r.from.pid) && r.sig === 10 && r.of === 'signal') inc(c.flood10, r.from.pid, r.count)
        if (watch.has(r.to.pid) && r.sig === 10 && r.of === 'deliver') inc(c.dflood10, r.to.pid, r.count)
        break
      case 'deliver':
        if (watch.has(r.proc.pid) && r.sig === 10) inc(c.del10, r.proc.pid)
        break
      case 'fork':
        if (watch.has(r.parent.pid) && !r.thread) {
          inc(c.forks, r.parent.pid)
          parents.set(r.child.pid, r.parent.pid)
        }
        break
      case 'exit':
        if (r.groupDead) exits.push([r.proc.pid, r.code ?? -1])
        break
      case 'reap':
        reaps.push([r.reaper.pid, r.child.pid, r.status?.exited])
        break
      default:
        break
    }
  }
  for (const [pid, code] of exits) {
    const parent = parents.get(pid)
    if (parent !== undefined && code === 7) inc(c.exits, parent)
    if (watch.has(pid) && code === 0) inc(c.selfExit, pid)
  }
  for (const [reaper, child, exited] of reaps) {
    if (watch.has(reaper) && parents.get(child) === reaper && exited === 7) inc(c.reaps, reaper)
    if (watch.has(child)) inc(c.selfReap, child)
  }
  for (const [from, to] of chld) if (watch.has(to) && parents.get(from) === to) inc(c.sigchld, to)
  const checks: Check[] = []
  const t: Tally = {check: (what, expected, found) => checks.push({what, expected, found})}
  const sum = (map: Map<number, number>, keys: number[]): number => keys.reduce((n, k) => n + (map.get(k) ?? 0), 0)
  const w = [...watch]
  if (m.mode === 'flood') {
    if (scope === 'all') {
      t.check('SIGUSR1 signal events + flood counts = sent', m.sent, sum(c.sig10, w) + sum(c.flood10, w))
      t.check('SIGUSR1 deliveries + delivery flood counts = handled', m.handled, sum(c.del10, w) + sum(c.dflood10, w))
    } else {
      // on the host, outside any sandbox: the default scope must leave it out entirely
      t.check('events of the host flood (outside every sandbox)', 0, sum(c.sig10, w) + sum(c.flood10, w) + sum(c.del10, w) + sum(c.dflood10, w))
    }
  }
  if (m.mode === 'churn' || m.mode === 'mix') {
    t.check('forks', m.forks, sum(c.forks, w))
    t.check('exits (code 7)', m.forks, sum(c.exits, w))
    t.check('reaps (wait4, exited 7)', m.reaped, sum(c.reaps, w))
    t.check('SIGCHLD (kernel) to the parent', m.forks, sum(c.sigchld, w))
  }
  if (m.mode === 'check' || m.mode === 'mix') t.check('kill(self, 0) checks', m.checks, sum(c.sig0, w))
  if (m.mode === 'sandboxes') {
    const n = sandboxParts.length
    const forks = sandboxParts.reduce((s, p) => s + p.forks, 0)
    const sent = sandboxParts.reduce((s, p) => s + p.sent, 0)
    const handled = sandboxParts.reduce((s, p) => s + p.handled, 0)
    t.check(`sandboxes reporting (${m.sandboxes} started)`, m.sandboxes, n)
    t.check('forks in sandboxes', forks, sum(c.forks, w))
    t.check('exits in sandboxes (code 7)', forks, sum(c.exits, w))
    t.check('reaps by sandbox PID 1s', forks, sum(c.reaps, w))
    t.check('SIGCHLD to sandbox PID 1s', forks, sum(c.sigchld, w))
    t.check('SIGUSR1 in sandboxes: events + flood counts = sent', sent, sum(c.sig10, w) + sum(c.flood10, w))
    t.check('SIGUSR1 deliveries + delivery flood counts = handled', handled, sum(c.del10, w) + sum(c.dflood10, w))
    t.check('exits of the sandbox PID 1s', n, sum(c.selfExit, w))
    t.check('reaps of the sandbox PID 1s (by unshare)', n, sum(c.selfReap, w))
    if (scope === 'sandboxes') t.check('events of the host noise (flood + churn outside sandboxes)', 0, c.noiseEvents)
  }
  return {
    exact: checks.every((k) => k.expected === k.found) && lost === 0 && footer !== undefined,
    checks,
    events,
    records,
    lost,
    footer: footer !== undefined,
    kinds: footer?.kinds ?? {},
    outOfOrder,
    maxLagMs: maxLagNs / 1e6,
  }
}

export interface BareCount {
  /** printf lines per tag */
  seen: Record<string, number>
  /** the kernel's per-kind counts printed at the stop (@n) */
  produced?: Record<string, number>
  lostReported: number
  /** produced − seen, summed (lines bpftrace never printed), when @n was printed */
  lost?: number
  lines: number
  attachedProbes?: number
}

const TAG_OF_KIND: Record<string, string> = {1: 'S', 2: 'G', 3: 'D', 4: 'E', 5: 'W', 6: 'F', 7: 'X'}

/** Incremental reader of bare bpftrace's JSON output (a file that grows). */
export class BareTail {
  readonly count: BareCount = {seen: {}, lostReported: 0, lines: 0}
  marker = false
  private carry = ''

  /** Feeds new text; returns nothing (read `count`). */
  push(text: string): void {
    const parts = (this.carry + text).split('\n')
    this.carry = parts.pop() ?? ''
    for (const l of parts) this.line(l)
  }

  private line(l: string): void {
    const r = parseBpftraceLine(l)
    if (!r) return
    this.count.lines++
    if (r.type === 'printf') {
      const tag = r.text[0]
      this.count.seen[tag] = (this.count.seen[tag] ?? 0) + 1
      if (tag === 'P') this.marker = true
    } else if (r.type === 'lost') this.count.lostReported += r.count
    else if (r.type === 'attached') this.count.attachedProbes = r.probes
    else if (r.type === 'map' && r.name === '@n') {
      const produced: Record<string, number> = {}
      for (const e of r.entries) if (TAG_OF_KIND[e.key[0]]) produced[TAG_OF_KIND[e.key[0]]] = e.value
      this.count.produced = produced
    }
  }

  get caughtUp(): boolean {
    const p = this.count.produced
    return p !== undefined && Object.entries(p).every(([t, n]) => (this.count.seen[t] ?? 0) >= n)
  }

  finish(): BareCount {
    const p = this.count.produced
    if (p) this.count.lost = Object.entries(p).reduce((s, [t, n]) => s + Math.max(0, n - (this.count.seen[t] ?? 0)), 0)
    return this.count
  }
}
