import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {BPFTRACES, childrenOf, hasFirstLine, killLeftovers, readRecords, requireBpftrace, requireTracing, runCli, waitFor} from '../helpers/e2e.js'
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

  /** The workload run while `run` records into `out`, then Ctrl-C: exit 0, and what was written. */
  async function workloadThenStop(run: ReturnType<typeof runCli>, out: string, args: string[]): Promise<{manifest: Manifest; records: ReturnType<typeof readRecords>}> {
    const manifest = JSON.parse(execFileSync(sigwork, args).toString()) as Manifest
    run.child.kill('SIGINT')
    const {code} = await run.exited
    assert.equal(code, 0, run.stderr())
    return {manifest, records: readRecords(out)}
  }

  for (const bt of BPFTRACES) {
    it(`records the workload's every signal, exit and reap exactly, with zero lost (bpftrace ${bt.label})`, async function () {
      requireBpftrace(this, bt)
      const out = path.join(dir, 'trace.jsonl')
      const run = runCli(['record', '-o', out, '--all', '--bpftrace', bt.command])
      await waitFor(() => hasFirstLine(out), 60_000, 'the trace header')
      const {manifest, records} = await workloadThenStop(run, out, ['--flood', '5000', '--forks', '200'])
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

  describe('bpftrace 0.17 in a narrowed view of available_events (src/probe/events-view.ts)', function () {
    const system = BPFTRACES[0]
    const mountsOf = (pid: number | string): string[] => readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').filter((l) => / \/sys\/kernel\/(debug\/)?tracing\/available_events /.test(l))

    it("runs bpftrace with only the program's tracepoints in available_events, in a mount namespace of its own, and records exactly", async function () {
      requireBpftrace(this, system)
      const before = mountsOf('self')
      const out = path.join(dir, 'trace.jsonl')
      const run = runCli(['record', '-o', out, '--all', '--bpftrace', system.command], {env: {DEBUG: 'pausetrace:start'}})
      await waitFor(() => hasFirstLine(out), 60_000, 'the trace header')
      assert.match(run.stderr(), /bpftrace spawned \(available_events narrowed\)/)
      // the bind is in bpftrace's namespace only, and names the program's tracepoints
      const bpftrace = childrenOf(run.child.pid as number)[0]
      assert.ok(bpftrace, 'no bpftrace child')
      assert.match(readFileSync(`/proc/${bpftrace}/cmdline`, 'utf8'), /^\/usr\/bin\/bpftrace\0/, 'the launcher exec\'d bpftrace in place')
      assert.equal(mountsOf(bpftrace).length - before.length, 1, mountsOf(bpftrace).join('\n'))
      assert.deepEqual(mountsOf('self'), before, "the host's mounts are untouched")
      const {manifest, records} = await workloadThenStop(run, out, ['--flood', '2000', '--forks', '100'])
      assertValidRecords(records)
      assert.equal((records.at(-1) as Record<string, any>).lost, 0)
      assertWorkloadTrace(records, manifest)
      assert.deepEqual(mountsOf('self'), before)
    })

    it('starts bpftrace again without the view when unshare cannot make the namespace (a container without CAP_SYS_ADMIN)', async function () {
      requireBpftrace(this, system)
      const bin = path.join(dir, 'bin')
      mkdirSync(bin)
      // what util-linux's unshare prints when unshare(2) is refused
      writeFileSync(path.join(bin, 'unshare'), '#!/bin/sh\necho "unshare: unshare failed: Operation not permitted" >&2\nexit 1\n', {mode: 0o755})
      const out = path.join(dir, 'trace.jsonl')
      const run = runCli(['record', '-o', out, '--all', '--bpftrace', system.command], {env: {DEBUG: 'pausetrace:start', PATH: `${bin}:${process.env.PATH}`}})
      await waitFor(() => hasFirstLine(out), 60_000, 'the trace header')
      assert.match(run.stderr(), /unshare could not run bpftrace in a mount namespace of its own: unshare: unshare failed: Operation not permitted; bpftrace started again without the narrowed available_events/)
      const {manifest, records} = await workloadThenStop(run, out, ['--flood', '2000', '--forks', '100'])
      assert.equal((records.at(-1) as Record<string, any>).lost, 0)
      assertWorkloadTrace(records, manifest)
    })
  })
})
