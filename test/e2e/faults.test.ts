import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {CLI, bpftraceChildren, hasFirstLine, killLeftovers, requireTracing, runCli, waitFor} from '../helpers/e2e.js'
import {buildWorkload} from '../helpers/workload.js'

describe('e2e: faults (pausetrace killed, disk full)', function () {
  this.timeout(60_000)
  let dir: string
  before(function () {
    requireTracing(this)
  })
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-e2e-'))
  })
  afterEach(() => {
    killLeftovers()
    rmSync(dir, {recursive: true, force: true})
  })

  it('SIGKILL: bpftrace does not linger (in-kernel watchdog) and the file replays up to its last full line', async () => {
    const out = path.join(dir, 'trace.jsonl')
    const run = runCli(['record', '-o', out, '--all'])
    await waitFor(() => hasFirstLine(out), 60_000, 'the trace header')
    const bpftrace = bpftraceChildren(run.child.pid as number)
    assert.equal(bpftrace.length, 1)
    // activity to record, and time for at least one flush of the writer (every 200 ms)
    for (let i = 0; i < 20; i++) execFileSync('/bin/true')
    await new Promise((r) => setTimeout(r, 500))
    run.child.kill('SIGKILL')
    await run.exited
    await waitFor(() => !existsSync(`/proc/${bpftrace[0]}`), 20_000, `bpftrace ${bpftrace[0]} to exit after pausetrace died`)
    const text = readFileSync(out, 'utf8')
    const complete = text.slice(0, text.lastIndexOf('\n') + 1)
    const lines = complete.split('\n').filter((l) => l)
    assert.ok(lines.length > 1, 'events were written before the kill')
    const replay = execFileSync(process.execPath, [CLI, 'replay', out, '--json'], {stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30}).toString()
    assert.equal(replay, complete)
  })

  it('a full disk: one clear line, exit 3, bpftrace stopped, the file ends on a line boundary', async function () {
    const fs = path.join(dir, 'small')
    mkdirSync(fs)
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=200k', 'tmpfs', fs])
    try {
      const out = path.join(fs, 'trace.jsonl')
      const run = runCli(['record', '-o', out, '--all'])
      await waitFor(() => hasFirstLine(out), 60_000, 'the trace header')
      const bpftrace = bpftraceChildren(run.child.pid as number)
      const sigwork = buildWorkload()
      // about 300 KB of records: more than the file system holds
      for (let i = 0; i < 3 && run.child.exitCode === null; i++) execFileSync(sigwork, ['--flood', '2000', '--forks', '200'])
      const {code} = await run.exited
      assert.equal(code, 3)
      assert.equal(run.stderr(), `pausetrace: cannot write ${out}: the disk is full; recording stopped and the file ends at its last complete record.\n`)
      assert.ok(bpftrace.every((pid) => !existsSync(`/proc/${pid}`)), 'bpftrace has exited')
      const text = readFileSync(out, 'utf8')
      assert.ok(text.endsWith('\n'))
      const records = text.split('\n').filter((l) => l).map((l) => JSON.parse(l) as {type: string})
      assert.equal(records[0].type, 'header')
      assert.ok(records.length > 100)
    } finally {
      execFileSync('umount', [fs])
    }
  })
})
