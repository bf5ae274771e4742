// TraceMetrics (src/metrics/) without a socket: the records of a recorded trace give exact values,
// the series of pods that went away expire, and thousands of pods stay bounded.
import assert from 'node:assert/strict'
import {TraceMetrics} from '../../src/metrics/trace-metrics.js'
import {parseMetricsAddress} from '../../src/metrics/server.js'
import {recordsOf} from '../helpers/traces.js'
import {FindingsEngine} from '../../src/findings/engine.js'
import type {SandboxRecord, TraceRecord} from '../../src/events/types.js'
import {UsageError} from '../../src/errors.js'

function series(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
}

describe('metrics', () => {
  it('from the recorded kill-pause (CRI) trace: infra deaths, re-created sandboxes, findings by kind, reap latencies', async () => {
    const m = new TraceMetrics({expiryMs: 600_000})
    const engine = new FindingsEngine((f) => m.finding(f.record, f.events))
    for (const r of recordsOf('traces/findings/kill-pause-cri.jsonl')) {
      if (r.type === 'header') m.header(r, 34)
      else m.observe(r)
      engine.push(r)
    }
    engine.finish()
    const text = await m.text()
    assert.deepEqual(series(text, 'pausetrace_infra_deaths_total'), ['pausetrace_infra_deaths_total{namespace="pausetrace-lab",pod="shared"} 1', 'pausetrace_infra_deaths_total{namespace="pausetrace-lab",pod="own"} 1'])
    assert.deepEqual(series(text, 'pausetrace_sandbox_recreations_total'), ['pausetrace_sandbox_recreations_total{namespace="pausetrace-lab",pod="shared"} 1', 'pausetrace_sandbox_recreations_total{namespace="pausetrace-lab",pod="own"} 1'])
    assert.deepEqual(series(text, 'pausetrace_grace_periods_exhausted_total'), ['pausetrace_grace_periods_exhausted_total{namespace="pausetrace-lab",pod="own",container="own-app"} 1'])
    assert.ok(series(text, 'pausetrace_findings_total').includes('pausetrace_findings_total{namespace="pausetrace-lab",pod="own",kind="pause-died",severity="problem"} 1'))
    assert.deepEqual(series(text, 'pausetrace_probes_attached'), ['pausetrace_probes_attached 34'])
  })

  it('a pod that went away keeps its series for the expiry, then loses them all; 5000 pods stay bounded', async () => {
    let now = 1_000_000
    const m = new TraceMetrics({expiryMs: 10 * 60_000, now: () => now})
    const N = 5000
    const heap0 = process.memoryUsage().heapUsed
    for (let i = 0; i < N; i++) {
      const id = `netns:${4026540000 + i}`
      const sb: SandboxRecord = {type: 'sandbox', id, runtime: 'containerd', pod: {name: `web-${i}`, namespace: 'shop', uid: `u${i}`, attempt: 0}, pausePid: 100_000 + i, sharedNamespaces: [], sharedPidNamespace: false, ns: {}}
      m.observe(sb)
      const proc = {pid: 200_000 + i, tid: 200_000 + i, comm: 'app', innerPid: 1, sandbox: id, role: 'container' as const}
      const pause = {pid: 100_000 + i, tid: 100_000 + i, comm: 'pause', innerPid: 1, sandbox: id, role: 'pause' as const}
      m.observe({type: 'event', kind: 'signal', t: i, ts: '2026-12-03T10:00:00.000Z', sig: 15, signame: 'SIGTERM', via: 'kill', from: {pid: 1, comm: 'kubelet', innerPid: 1, sandbox: null, role: 'host'}, to: proc, result: 'ignored', ret: 0} as TraceRecord)
      m.observe({type: 'event', kind: 'exit', t: i, ts: '2026-12-03T10:00:00.000Z', proc: pause, code: 0, groupDead: true} as TraceRecord)
    }
    const heapMb = (process.memoryUsage().heapUsed - heap0) / 1e6
    assert.equal(m.podCount, N)
    assert.equal(series(await m.text(), 'pausetrace_sigterm_dropped_pid1_total').length, N)
    now += 10 * 60_000 - 1
    assert.equal(series(await m.text(), 'pausetrace_signals_total').length, N, 'still there just before the expiry')
    now += 2
    const text = await m.text()
    assert.equal(m.podCount, 0)
    assert.deepEqual([series(text, 'pausetrace_signals_total'), series(text, 'pausetrace_infra_deaths_total'), series(text, 'pausetrace_sigterm_dropped_pid1_total')], [[], [], []])
    // what 5000 pods cost while they have series (docs/metrics.md gives the figure)
    assert.ok(heapMb < 100, `${heapMb.toFixed(1)} MB for ${N} pods`)
  })

  it('--metrics addresses: a port alone is loopback; malformed ones are a usage error', () => {
    assert.deepEqual(parseMetricsAddress('9479'), {host: '127.0.0.1', port: 9479})
    assert.deepEqual(parseMetricsAddress('0.0.0.0:9479'), {host: '0.0.0.0', port: 9479})
    assert.deepEqual(parseMetricsAddress('[::1]:9479'), {host: '::1', port: 9479})
    assert.deepEqual(parseMetricsAddress('node-1.example:80'), {host: 'node-1.example', port: 80})
    for (const bad of ['', 'x', '70000', ':9479', '1.2.3:9479', '[zz]:1', 'a b:1', '127.0.0.1:0']) assert.throws(() => parseMetricsAddress(bad), UsageError, bad)
  })
})
