// A full disk under every command that writes what a live trace sees, ending the way `record -o
// FILE` does (faults.test.ts): exit 3, the one sentence on stderr, bpftrace stopped, the file cut at
// its last complete line. `watch --record FILE`, `record -o -` into a file, and `lab --json` into a
// file (which must also remove its sandboxes). The disk is a tmpfs of a few pages, as in faults.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {childrenOf, hasFirstLine, killLeftovers, requireTracing, runCli, waitFor, type CliRun} from '../helpers/e2e.js'
import {buildWorkload} from '../helpers/workload.js'

const sentence = (file: string): string => `pausetrace: cannot write ${file}: the disk is full; recording stopped and the file ends at its last complete record.\n`

/** Every line of the file is one whole JSON record, the last one too. */
function wholeRecords(file: string): Array<Record<string, any>> {
  const text = readFileSync(file, 'utf8')
  assert.ok(text.endsWith('\n'), `${file} ends mid-line: ${JSON.stringify(text.slice(-80))}`)
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, any>)
}

function comm(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
  } catch {
    return undefined
  }
}

describe('e2e: a full disk under watch --record, record -o - and lab: record\'s exit 3 and sentence', function () {
  this.timeout(120_000)
  let dir: string
  let small: string
  let sigwork: string
  const mount = (size: string): void => {
    mkdirSync(small)
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', small])
  }
  before(function () {
    requireTracing(this)
    sigwork = buildWorkload()
  })
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-e2e-'))
    small = path.join(dir, 'small')
  })
  afterEach(() => {
    killLeftovers()
    if (existsSync(small)) execFileSync('umount', [small])
    rmSync(dir, {recursive: true, force: true})
  })

  /** Fills the disk from the workload (about 300 KB of records) until the CLI exits; its bpftrace must be gone. */
  async function fillUntilExit(run: CliRun, file: string): Promise<number | null> {
    await waitFor(() => hasFirstLine(file), 60_000, 'the trace header')
    const bpftrace = childrenOf(run.child.pid as number).filter((p) => comm(p) === 'bpftrace')
    assert.equal(bpftrace.length, 1)
    for (let i = 0; i < 3 && run.child.exitCode === null; i++) execFileSync(sigwork, ['--flood', '2000', '--forks', '200'])
    const {code} = await run.exited
    assert.ok(bpftrace.every((pid) => !existsSync(`/proc/${pid}`)), 'bpftrace has exited')
    return code
  }

  it('watch --record FILE: exit 3, the sentence alone on stderr, the file whole up to its last line', async () => {
    mount('200k')
    const out = path.join(small, 'watch.jsonl')
    // stdout a pipe: plain lines, which go on being printed until the trace stops
    const run = runCli(['watch', '--all', '--record', out])
    const code = await fillUntilExit(run, out)
    assert.deepEqual([code, run.stderr()], [3, sentence(out)])
    const records = wholeRecords(out)
    assert.deepEqual([records[0].type, records[0].argv[0]], ['header', 'watch'])
    assert.ok(records.length > 100)
    assert.ok(run.stdout().split('\n').length > 100, 'the event lines were printed')
  })

  it('record -o - into a file: exit 3, the sentence names the file, the file whole up to its last line', async () => {
    mount('200k')
    const out = path.join(small, 'stdout.jsonl')
    const fd = openSync(out, 'w', 0o600)
    const run = runCli(['record', '-o', '-', '--all'], {stdout: fd})
    closeSync(fd)
    const code = await fillUntilExit(run, out)
    assert.deepEqual([code, run.stderr()], [3, sentence(out)])
    const records = wholeRecords(out)
    assert.equal(records[0].type, 'header')
    assert.ok(records.length > 100)
  })

  it('lab --json into a file: exit 3, the sentence, the file whole up to its last line, the sandboxes removed', async () => {
    // one page: the exercise's report fills it during its first steps
    mount('4k')
    const out = path.join(small, 'lab.jsonl')
    const fd = openSync(out, 'w', 0o600)
    const run = runCli(['lab', 'pid1-ignores-sigterm', '--json'], {stdout: fd})
    closeSync(fd)
    let bpftrace: number[] = []
    const watcher = setInterval(() => {
      bpftrace = [...new Set([...bpftrace, ...childrenOf(run.child.pid as number).filter((p) => comm(p) === 'bpftrace')])]
    }, 20)
    let code: number | null
    try {
      code = (await run.exited).code
    } finally {
      clearInterval(watcher)
    }
    assert.deepEqual([code, run.stderr()], [3, sentence(out)])
    assert.ok(bpftrace.length >= 1, 'the lab traced')
    assert.ok(bpftrace.every((pid) => !existsSync(`/proc/${pid}`)), 'bpftrace has exited')
    const records = wholeRecords(out)
    const lab = records.filter((r) => r.type === 'lab')
    assert.equal(lab[0].kind, 'exercise')
    assert.ok(records.some((r) => r.type === 'header'), 'the trace started before the disk was full')
    assert.equal(records.some((r) => r.type === 'lab' && r.kind === 'result'), false, 'the disk was full before the end')
    // what the lab made and named before the disk was full is gone: processes, its directory
    const pids = lab.flatMap((r) => (r.kind === 'sandbox' ? [r.pausePid, r.parentPid] : r.kind === 'container' ? [r.pid, r.parentPid] : []) as number[])
    assert.ok(pids.length >= 2, 'a sandbox was made')
    assert.deepEqual(pids.filter((pid) => existsSync(`/proc/${pid}`)), [])
    const dirs = new Set(lab.filter((r) => r.kind === 'command').flatMap((r) => (r.argv as string[]).map((a) => /^(\/tmp\/pausetrace-lab-[^/]+)\//.exec(a)?.[1]).filter((d): d is string => d !== undefined)))
    assert.ok(dirs.size >= 1, 'the lab named its directory')
    assert.deepEqual([...dirs].filter((d) => existsSync(d)), [])
  })
})
