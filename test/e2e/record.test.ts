import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {mkdtempSync, rmSync, statSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {BPFTRACES, hasFirstLine, killLeftovers, readRecords, requireBpftrace, requireTracing, runCli, waitFor} from '../helpers/e2e.js'
import {buildWorkload, type Manifest} from '../helpers/workload.js'
import {assertValidRecords} from '../helpers/schema.js'
import {assertWorkloadTrace} from '../helpers/workload-assertions.js'

describe('e2e: record on a real kernel', function () {
  this.timeout(120_000)
  let dir: string
  let sigwork: string

  before(function () {
    requireTracing(this)
    sigwork = buildWorkload()
  })
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-e2e-'))
  })
  afterEach(() => {
    killLeftovers()
    rmSync(dir, {recursive: true, force: true})
  })

  for (const bt of BPFTRACES) {
    it(`records the workload's every signal, exit and reap exactly, with zero lost (bpftrace ${bt.label})`, async function () {
      requireBpftrace(this, bt)
      const out = path.join(dir, 'trace.jsonl')
      const run = runCli(['record', '-o', out, '--all', '--bpftrace', bt.command])
      await waitFor(() => hasFirstLine(out), 60_000, 'the trace header')
      const manifest = JSON.parse(execFileSync(sigwork, ['--flood', '5000', '--forks', '200']).toString()) as Manifest
      run.child.kill('SIGINT')
      const {code} = await run.exited
      assert.equal(code, 0, run.stderr())

      const records = readRecords(out)
      assertValidRecords(records)
      assert.equal(records[0].type, 'header')
      assert.equal(records[0].bpftrace, bt.label.startsWith('0.17') ? 'v0.17.0' : records[0].bpftrace)
      const footer = records.at(-1) as Record<string, any>
      assert.equal(footer.type, 'footer')
      assert.equal(footer.reason, 'interrupt')
      assert.equal(footer.lost, 0, `lost records: ${JSON.stringify(records.filter((r) => r.type === 'lost'))}`)
      assert.equal(footer.events, records.filter((r) => r.type === 'event').length)
      // written in time order (the heartbeats, docs/trace-format.md), and the footer says so
      const ts = records.filter((r) => r.type === 'event').map((r) => r.t as number)
      assert.equal(ts.filter((t, i) => i > 0 && t < ts[i - 1]).length, 0)
      assert.equal(footer.outOfOrder, 0)
      assertWorkloadTrace(records, manifest)
      assert.equal(statSync(out).mode & 0o777, 0o600)
      assert.match(run.stderr(), /^pausetrace: \d+ events \(.*\) in [\d.]+ s → .*; 0 lost \(checked against the kernel's counts\); \d+ signals counted in flood summaries; stopped: interrupt\n$/)
    })
  }
})
