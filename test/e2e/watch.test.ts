import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {hasFirstLine, killLeftovers, readRecords, requireTracing, runCli, waitFor} from '../helpers/e2e.js'
import {assertValidRecords} from '../helpers/schema.js'
import {findingLine} from '../../src/findings/format.js'
import type {FindingRecord} from '../../src/events/types.js'
import {cleanupAll, execInNsSandbox, nsLink, startNsSandbox} from '../helpers/sandboxes.js'

const sandboxId = (pid: number): string => `netns:${/\[(\d+)\]/.exec(nsLink(pid, 'net'))?.[1]}`

describe('e2e: watch with stdout not a terminal (plain lines)', function () {
  this.timeout(180_000)
  let dir: string
  before(function () {
    requireTracing(this)
  })
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-watch-'))
  })
  afterEach(async function () {
    killLeftovers()
    await cleanupAll()
    if (this.currentTest?.state === 'failed') console.warn(`    kept ${dir} for inspection`)
    else rmSync(dir, {recursive: true, force: true})
  })

  it('piped: the ignored SIGTERM to a PID 1 comes as its line at once, SIGINT stops with 0, no escape codes, the lines are replay --text of the --record file', async () => {
    const sb = await startNsSandbox({sharePid: false})
    const id = sandboxId(sb.pausePid)
    const rec = path.join(dir, 'watch.jsonl')
    // TERM says colour: the pipe alone must make it plain
    const run = runCli(['watch', '--sandbox', id, '--record', rec], {env: {TERM: 'xterm-256color', FORCE_COLOR: '1'}})
    await waitFor(() => hasFirstLine(rec), 60_000, 'the header of the --record file')
    // PID 1 of its own PID namespace, in the sandbox's net/ipc/uts: no SIGTERM handler
    const pid1 = await execInNsSandbox(sb, ['sleep', '1000'], {pidNs: 'own'})
    process.kill(pid1.pid, 'SIGTERM')
    const line = new RegExp(`^\\+\\d+\\.\\d{6}s signal   SIGTERM node\\[${process.pid}\\] → sleep\\[${pid1.pid}/1\\] @${id} via kill: ignored$`, 'm')
    // printed while the trace runs, not at its end
    await waitFor(() => line.test(run.stdout()), 15_000, 'the ignored SIGTERM line on stdout')
    assert.equal(run.child.exitCode, null)
    run.child.kill('SIGINT')
    const exit = await run.exited
    assert.deepEqual(exit, {code: 0, signal: null}, run.stderr())
    assert.doesNotMatch(run.stdout(), /\u001b/)
    assert.match(run.stderr(), new RegExp(`^pausetrace: \\d+ events \\(.*\\) in [\\d.]+ s → ${rec.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}; 0 lost \\(checked against the kernel's counts\\); 0 signals counted in flood summaries; stopped: interrupt\\n$`))

    const records = readRecords(rec)
    assertValidRecords(records)
    assert.deepEqual([records[0].type, records[0].argv.slice(0, 1), records.at(-1)?.type, records.at(-1)?.reason], ['header', ['watch'], 'footer', 'interrupt'])
    const term = records.filter((r) => r.type === 'event' && r.kind === 'signal' && r.sig === 15 && r.to?.pid === pid1.pid)
    assert.deepEqual(term.map((r) => [r.result, r.to.innerPid, r.to.sandbox, r.from.pid]), [['ignored', 1, id, process.pid]])
    // stdout is exactly what replay --text prints for the recorded file, and the findings of
    // `explain` on it, each after the event that decided it
    const isFinding = (l: string): boolean => /^\+\d+\.\d{6}s finding {2}/.test(l)
    const out = run.stdout().split('\n')
    const replay = runCli(['replay', rec, '--text'])
    assert.equal((await replay.exited).code, 0, replay.stderr())
    assert.equal(out.filter((l) => !isFinding(l)).join('\n'), replay.stdout())
    assert.equal(out.filter((l) => !isFinding(l)).length - 1, records.filter((r) => r.type === 'event' || r.type === 'lost').length)
    const explain = runCli(['explain', rec, '--json'])
    assert.equal((await explain.exited).code, 0, explain.stderr())
    const findings = explain.stdout().trim().split('\n').map((l) => JSON.parse(l) as FindingRecord)
    assert.deepEqual(findings.map((f) => f.kind), ['sigterm-ignored-by-pid1'])
    assert.deepEqual(out.filter(isFinding), findings.map(findingLine))
    assert.ok(out.findIndex(isFinding) > out.findIndex((l) => line.test(l)), 'the finding comes after its SIGTERM')
  })

  it('--record over an existing file: exit 2, one line, the file untouched, nothing on stdout', async () => {
    const rec = path.join(dir, 'exists.jsonl')
    writeFileSync(rec, 'keep me\n')
    const run = runCli(['watch', '--record', rec])
    const exit = await run.exited
    assert.deepEqual([exit.code, run.stdout(), run.stderr()], [2, '', `pausetrace: ${rec} already exists; choose another name or pass --force to overwrite it.\n`])
    assert.equal(readFileSync(rec, 'utf8'), 'keep me\n')
  })

  it('usage errors and help: a bad signal is exit 2 in one line; --help has the examples and the exit codes', async () => {
    const bad = runCli(['watch', '--signal', 'NOPE'])
    assert.deepEqual([(await bad.exited).code, bad.stdout(), bad.stderr()], [2, '', 'pausetrace: --signal "NOPE" is not a signal; use a name like TERM, SIGKILL, RTMIN+3 or a number from 1 to 64.\n'])
    const force = runCli(['watch', '--force'])
    assert.equal((await force.exited).code, 2)
    assert.match(force.stderr(), /^pausetrace: .*--record.* \(see --help\)\n$/)
    const help = runCli(['watch', '--help'])
    assert.equal((await help.exited).code, 0)
    const out = help.stdout()
    for (const want of ['USAGE', '$ pausetrace watch', '--record=<value>', '--bpftrace=<value>', '--pod=<value>...', 'EXIT CODES', '  4  trace failed (bpftrace died; the message carries the tail of its stderr)', 'sudo pausetrace watch --pod web-0 --record web-0.jsonl.gz']) {
      assert.ok(out.includes(want), `--help lacks ${JSON.stringify(want)}:\n${out}`)
    }
  })
})
