import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {CLI, childrenOf, hasFirstLine, killLeftovers, requireTracing, runCli, waitFor} from '../helpers/e2e.js'

describe('e2e: pausetrace killed', function () {
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
    const bpftrace = childrenOf(run.child.pid as number)
    assert.equal(bpftrace.length, 1)
    assert.equal(readFileSync(`/proc/${bpftrace[0]}/comm`, 'utf8').trim(), 'bpftrace')
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
    const replay = execFileSync(process.execPath, [CLI, 'replay', out, '--json'], {stdio: ['ignore', 'pipe', 'pipe']}).toString()
    assert.equal(replay, complete)
  })
})
