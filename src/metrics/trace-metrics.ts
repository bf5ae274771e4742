// The trace as Prometheus metrics (`record`/`watch --metrics`): counters, gauges and a histogram
// fed the same records the trace file gets, and the findings of src/findings/. Labelled by pod
// (`namespace`, `pod`; an unnamed sandbox: namespace "" and its id) and container where the
// runtime names it. A pod that has gone away (its pause exited, or nothing of it for the expiry)
// loses its series after `expiryMs`: a trace of thousands of pods keeps a bounded set.
// docs/metrics.md lists every metric.
import {Counter, Gauge, Histogram, Registry} from 'prom-client'
import type {FindingRecord, HeaderRecord, SandboxRecord, TraceEvent, TraceRecord} from '../events/types.js'
import type {ProcRef} from '../events/types.js'
import {withKnownPod} from '../events/sandbox-record.js'
import {announcesZombie, MAX_KEPT} from '../findings/zombies.js'
import {capped} from '../util/capped-map.js'

type PodLabels = {namespace: string; pod: string}
type AnyMetric = Counter<string> | Gauge<string> | Histogram<string>

export interface TraceMetricsOptions {
  /** how long a pod that went away keeps its series */
  expiryMs: number
  /** wall clock (ms), for tests */
  now?: () => number
}


interface PodSeries {
  labels: PodLabels
  lastSeen: number
  goneAt?: number
  /** every series of this pod: its metric and exact labels */
  sets: Map<string, [AnyMetric, Record<string, string>]>
}

export class TraceMetrics {
  readonly registry = new Registry()
  private readonly now: () => number
  private readonly sandboxes = new Map<string, SandboxRecord>()
  private readonly pods = new Map<string, PodSeries>()
  /** exited processes of pods not reaped yet: when (wall ms, from the event's ts) and whose */
  private readonly exits = new Map<number, {ms: number; pod: string}>()
  /** zombies: children whose exit the kernel's SIGCHLD announced to a parent in a pod, not reaped */
  private readonly zombieSet = new Map<number, {ms: number; pod: string; parent: number}>()
  /** parent → its zombies (an exit drops the exiting parent's without a scan of them all) */
  private readonly zombiesOf = new Map<number, Set<number>>()

  private readonly signals: Counter<string>
  private readonly sigtermDropped: Counter<string>
  private readonly graceExhausted: Counter<string>
  private readonly findings: Counter<string>
  private readonly infraDeaths: Counter<string>
  private readonly recreations: Counter<string>
  private readonly reapLatency: Histogram<string>
  private readonly floodSignals: Counter<string>
  private readonly events: Counter<string>
  private readonly lost: Counter<string>
  private readonly start: Gauge<string>
  private readonly info: Gauge<string>
  private readonly probes: Gauge<string>

  constructor(private readonly opts: TraceMetricsOptions) {
    this.now = opts.now ?? Date.now
    const registers = [this.registry]
    const pod = ['namespace', 'pod']
    this.signals = new Counter({name: 'pausetrace_signals_total', help: 'Signals to processes of pod sandboxes, by signal and what the kernel did (delivered, ignored, pending, …)', labelNames: [...pod, 'container', 'signal', 'result'], registers})
    this.sigtermDropped = new Counter({name: 'pausetrace_sigterm_dropped_pid1_total', help: 'SIGTERMs the kernel dropped because the target is PID 1 of its namespace without a handler', labelNames: [...pod, 'container'], registers})
    this.graceExhausted = new Counter({name: 'pausetrace_grace_periods_exhausted_total', help: 'Stop signals that did not end a process before a SIGKILL (grace-period-exhausted findings)', labelNames: [...pod, 'container'], registers})
    this.findings = new Counter({name: 'pausetrace_findings_total', help: 'Findings (docs/findings.md), by kind and severity', labelNames: [...pod, 'kind', 'severity'], registers})
    this.infraDeaths = new Counter({name: 'pausetrace_infra_deaths_total', help: 'Exits of a sandbox\'s infra (pause) process', labelNames: pod, registers})
    this.recreations = new Counter({name: 'pausetrace_sandbox_recreations_total', help: 'Sandboxes that replace an earlier sandbox of the same pod', labelNames: pod, registers})
    this.reapLatency = new Histogram({name: 'pausetrace_reap_latency_seconds', help: 'Time from a process\'s exit to its reap by its parent', labelNames: pod, buckets: [0.0001, 0.001, 0.01, 0.1, 1, 10, 60, 600], registers})
    this.floodSignals = new Counter({name: 'pausetrace_flood_signals_total', help: 'Signals counted in the kernel by the flood limiter instead of written one by one', labelNames: [...pod, 'signal'], registers})
    this.events = new Counter({name: 'pausetrace_events_total', help: 'Trace events written, by kind', labelNames: ['kind'], registers})
    this.lost = new Counter({name: 'pausetrace_events_lost_total', help: 'Trace events lost, by where the loss was seen', labelNames: ['source'], registers})
    this.start = new Gauge({name: 'pausetrace_trace_start_time_seconds', help: 'When the trace started (every probe attached), seconds since the epoch', registers})
    this.probes = new Gauge({name: 'pausetrace_probes_attached', help: 'bpftrace probes attached', registers})
    this.info = new Gauge({name: 'pausetrace_trace_info', help: 'The trace: its host, kernel and bpftrace version (value 1)', labelNames: ['host', 'kernel', 'bpftrace'], registers})
    // computed at each scrape: the zombies there are now, and the oldest one's age
    const zombies = (): Map<string, {n: number; oldest: number}> => {
      const by = new Map<string, {n: number; oldest: number}>()
      for (const z of this.zombieSet.values()) {
        const c = by.get(z.pod) ?? {n: 0, oldest: Infinity}
        c.n++
        c.oldest = Math.min(c.oldest, z.ms)
        by.set(z.pod, c)
      }
      return by
    }
    const self = this
    new Gauge({name: 'pausetrace_zombies', help: 'Processes of pods that exited and are not reaped (zombies), now', labelNames: pod, registers, collect() {
      this.reset()
      for (const [key, c] of zombies()) {
        const p = self.pods.get(key)
        if (p) this.set(p.labels, c.n)
      }
    }})
    new Gauge({name: 'pausetrace_oldest_zombie_age_seconds', help: 'How long the oldest zombie of a pod has waited for its reap', labelNames: pod, registers, collect() {
      this.reset()
      const now = self.now()
      for (const [key, c] of zombies()) {
        const p = self.pods.get(key)
        if (p) this.set(p.labels, Math.max(0, (now - c.oldest) / 1000))
      }
    }})
  }

  /** The trace started: when, on what, and with how many probes attached (when bpftrace said). */
  header(h: HeaderRecord, probes?: number): void {
    this.start.set(Date.parse(h.startedAt) / 1000)
    this.info.set({host: h.host, kernel: h.kernel, bpftrace: h.bpftrace ?? ''}, 1)
    if (probes !== undefined) this.probes.set(probes)
  }

  observe(r: TraceRecord): void {
    switch (r.type) {
      case 'sandbox': {
        const first = !this.sandboxes.has(r.id)
        const earlier = this.sandboxes.get(r.id)
        this.sandboxes.set(r.id, withKnownPod(r, earlier))
        const p = this.pod(r.id)
        if (p && r.replaces && (first || !earlier?.replaces)) this.inc(this.recreations, p, {})
        break
      }
      case 'lost':
        this.lost.inc({source: r.source ?? 'bpftrace'}, r.count)
        break
      case 'event':
        this.events.inc({kind: r.kind})
        this.event(r)
        break
      default:
        break
    }
  }

  private event(e: Extract<TraceRecord, {type: 'event'}>): void {
    switch (e.kind) {
      case 'signal': {
        const to = e.to
        if (!to || to.sandbox === null) break
        const p = this.pod(to.sandbox)
        if (!p) break
        const c = container(to)
        this.inc(this.signals, p, {container: c, signal: e.signame, result: e.targetDead ? 'target_dead' : e.result ?? 'none'})
        if (e.sig === 15 && e.result === 'ignored' && to.innerPid === 1 && !e.targetDead && e.via !== 'kernel') this.inc(this.sigtermDropped, p, {container: c})
        if (announcesZombie(e)) this.addZombie(e.from.pid, {ms: Date.parse(e.ts), pod: this.key(p), parent: to.pid})
        break
      }
      case 'exit': {
        if (!e.groupDead) break
        // its zombies go to a new parent (the kernel's SIGCHLD to it says so) or with the namespace
        for (const pid of this.zombiesOf.get(e.proc.pid) ?? []) this.dropZombie(pid)
        const p = e.proc.sandbox ? this.pod(e.proc.sandbox) : undefined
        if (!p) break
        capped(this.exits, MAX_KEPT).set(e.proc.pid, {ms: Date.parse(e.ts), pod: this.key(p)})
        if (e.proc.role === 'pause') {
          this.inc(this.infraDeaths, p, {})
          const s = this.pods.get(this.key(p))
          if (s) s.goneAt = this.now()
        }
        break
      }
      case 'reap': {
        this.dropZombie(e.child.pid)
        const x = this.exits.get(e.child.pid)
        this.exits.delete(e.child.pid)
        const s = x ? this.pods.get(x.pod) : undefined
        if (x && s) this.observeIn(this.reapLatency, s.labels, {}, Math.max(0, (Date.parse(e.ts) - x.ms) / 1000))
        break
      }
      case 'flood': {
        const sb = e.to.sandbox ?? e.from.sandbox
        const p = sb ? this.pod(sb) : undefined
        if (p) this.inc(this.floodSignals, p, {signal: e.signame}, e.count)
        break
      }
      default:
        break
    }
  }

  /** A finding of the live trace, with the events that prove it. */
  finding(f: FindingRecord, events: TraceEvent[] = []): void {
    const p = f.sandbox ? this.pod(f.sandbox) : undefined
    if (!p) return
    this.inc(this.findings, p, {kind: f.kind, severity: f.severity})
    if (f.kind === 'grace-period-exhausted') {
      // the container, where one of its signals names it (a container's first events may not)
      const named = events.find((e) => e.kind === 'signal' && e.to?.container !== undefined)
      this.inc(this.graceExhausted, p, {container: named?.kind === 'signal' && named.to ? container(named.to) : ''})
    }
  }

  /** Drops the series of pods gone for longer than the expiry; returns how many pods went. */
  sweep(): number {
    const now = this.now()
    const withZombies = new Set([...this.zombieSet.values()].map((z) => z.pod))
    const gone = new Set<string>()
    for (const [key, s] of this.pods) {
      if (s.goneAt !== undefined ? now - s.goneAt <= this.opts.expiryMs : now - s.lastSeen <= this.opts.expiryMs || withZombies.has(key)) continue
      for (const [metric, labels] of s.sets.values()) metric.remove(labels)
      this.pods.delete(key)
      gone.add(key)
    }
    if (gone.size === 0) return 0
    for (const [pid, z] of this.zombieSet) if (gone.has(z.pod)) this.dropZombie(pid)
    for (const [pid, x] of this.exits) if (gone.has(x.pod)) this.exits.delete(pid)
    return gone.size
  }

  private addZombie(pid: number, z: {ms: number; pod: string; parent: number}): void {
    this.dropZombie(pid)
    this.zombieSet.set(pid, z)
    let kids = this.zombiesOf.get(z.parent)
    if (!kids) this.zombiesOf.set(z.parent, (kids = new Set()))
    kids.add(pid)
  }

  private dropZombie(pid: number): void {
    const z = this.zombieSet.get(pid)
    if (!z) return
    this.zombieSet.delete(pid)
    const kids = this.zombiesOf.get(z.parent)
    kids?.delete(pid)
    if (kids?.size === 0) this.zombiesOf.delete(z.parent)
  }

  /** The text of a scrape (the expired pods are dropped first). */
  async text(): Promise<string> {
    this.sweep()
    return this.registry.metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }

  /** How many pods have series now. */
  get podCount(): number {
    return this.pods.size
  }

  private key(p: PodLabels): string {
    return `${p.namespace}\0${p.pod}`
  }

  /** The pod labels of a sandbox (its id where no pod is named), and the pod seen active now. */
  private pod(sandboxId: string): PodLabels | undefined {
    const sb = this.sandboxes.get(sandboxId)
    const labels: PodLabels = sb?.pod ? {namespace: sb.pod.namespace ?? '', pod: sb.pod.name} : {namespace: '', pod: sandboxId}
    const key = this.key(labels)
    let s = this.pods.get(key)
    if (!s) this.pods.set(key, (s = {labels, lastSeen: 0, sets: new Map()}))
    s.lastSeen = this.now()
    return labels
  }

  private note(metric: AnyMetric, p: PodLabels, labels: Record<string, string>): void {
    const s = this.pods.get(this.key(p))
    if (!s) return
    const id = `${(metric as unknown as {name: string}).name}\0${JSON.stringify(labels)}`
    if (!s.sets.has(id)) s.sets.set(id, [metric, labels])
  }

  private inc(metric: Counter<string>, p: PodLabels, more: Record<string, string>, n = 1): void {
    const labels = {...p, ...more}
    metric.inc(labels, n)
    this.note(metric, p, labels)
  }

  private observeIn(metric: Histogram<string>, p: PodLabels, more: Record<string, string>, v: number): void {
    const labels = {...p, ...more}
    metric.observe(labels, v)
    this.note(metric, p, labels)
  }
}

function container(p: ProcRef): string {
  return p.container ?? ''
}
