// A smoke run of the benchmark (bench/run.ts) at its small size with the smoke plan: every kind
// of run (untraced, bare bpftrace, record --all, record in the default scope), every workload,
// and replay. It checks that the runner works and that the accounting is exact, not the ratios
// (those are for a quiet machine: `npm run bench -- --size full`).
import assert from 'node:assert/strict'
import {requireTracing} from '../helpers/e2e.js'
import {runBench, SMOKE_PLAN, type Results} from '../../bench/run.js'

describe('e2e: benchmark smoke run', function () {
  this.timeout(60_000)

  before(function () {
    requireTracing(this)
  })

  it('runs every workload untraced, under bare bpftrace and under record, and accounts for every event exactly', async function () {
    const log: string[] = []
    const t0 = Date.now()
    let res: Results
    try {
      res = await runBench({size: 'small', plan: SMOKE_PLAN, out: null, quietWaitMs: 0, retries: 0, log: (l) => log.push(l)})
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${log.join('\n')}`)
    }
    const why = `\n${log.join('\n')}\n${res.table}`

    // every planned run happened, with a manifest that says the workload did what it was told
    for (const [scenario, variants] of Object.entries(SMOKE_PLAN)) {
      for (const v of variants) {
        const s = res.samples.filter((x) => x.scenario === scenario && x.variant === v)
        assert.equal(s.length, 1, `one ${scenario} ${v} sample${why}`)
        assert.equal(s[0].error, undefined, `${scenario} ${v} failed${why}`)
        assert.equal(s[0].manifest.ok, true, `${scenario} ${v}: the workload's own counts${why}`)
        assert.ok(s[0].workloadMs > 0, why)
      }
    }

    // pausetrace's trace files: every check exact, nothing lost, a footer, CPU and RSS measured
    for (const s of res.samples.filter((x) => x.variant.startsWith('record'))) {
      const acc = s.accounting
      assert.ok(acc, `${s.scenario} ${s.variant}: accounting${why}`)
      for (const c of acc.checks) assert.equal(c.found, c.expected, `${s.scenario} ${s.variant}: ${c.what}${why}`)
      assert.ok(acc.checks.length > 0, why)
      assert.equal(acc.lost, 0, `${s.scenario} ${s.variant}: lost${why}`)
      assert.equal(acc.footer, true, `${s.scenario} ${s.variant}: footer${why}`)
      assert.equal(acc.exact, true, why)
      assert.match(s.summary ?? '', /0 lost \(checked against the kernel's counts\)/, why)
      assert.ok((s.attachMs ?? 0) > 0 && (s.node?.cpuMs ?? 0) > 0 && (s.node?.peakRssMb ?? 0) > 0 && (s.bpftraceCpuMs ?? 0) > 0, `${s.scenario} ${s.variant}: timings${why}`)
    }
    const byScenario = (scn: string, v: string) => res.samples.find((x) => x.scenario === scn && x.variant === v)
    // the flood in scope is seen whole; on the host, the default scope leaves it out entirely
    assert.ok(byScenario('flood', 'record-all')?.accounting?.checks.some((c) => c.what.startsWith('SIGUSR1 signal events') && c.found === 20_000), why)
    assert.ok(byScenario('flood', 'record-default')?.accounting?.checks.some((c) => c.what.startsWith('events of the host flood') && c.found === 0), why)
    assert.ok(byScenario('sandboxes', 'record-default')?.accounting?.checks.some((c) => c.what.startsWith('events of the host noise') && c.found === 0), why)

    // bare bpftrace: attached, its output read, the kernel's counts printed at the stop
    const bare = byScenario('churn', 'bare')
    assert.ok(bare?.bare?.produced, `bare bpftrace printed its counts${why}`)
    assert.ok((bare?.bare?.seen.F ?? 0) >= 1000 && (bare?.bare?.seen.E ?? 0) >= 1000 && (bare?.bare?.seen.W ?? 0) >= 1000, why)

    // replay of the biggest trace against a bare JSON.parse of the same file
    assert.equal(res.replay.length, 1, why)
    assert.equal(res.replay[0].records, byScenario('million', 'record-all')?.accounting?.records, why)
    assert.ok(res.replay[0].replayMs > 0 && res.replay[0].parseMs > 0, why)

    // the table names every goal
    for (const g of ['Signal flood in the traced scope', 'Same flood on the host', 'Fork/exit/reap churn', 'Replay', 'Peak RSS of record', 'Time to attached']) {
      assert.ok(res.summary.goals.some((r) => r.goal.startsWith(g)), `goal row ${g}${why}`)
      assert.ok(res.table.includes(g), why)
    }
    assert.ok(Date.now() - t0 < 60_000, why)
  })
})
