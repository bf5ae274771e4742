// End to end: `record --explain` on a namespace sandbox whose container's PID 1 (`sleep`, no
// handler) drops the host's SIGTERM and is SIGKILLed 1 s later: the findings follow the summary,
// and `explain` on the file it wrote says the same (the same kinds and times, valid records).
// Then bad input to `explain`: one line and the exit code of `replay`.
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {hasFirstLine, killLeftovers, readRecords, requireTracing, runCli, waitFor} from '../helpers/e2e.js'
import {cleanupAll, execInNsSandbox, nsLink, startNsSandbox} from '../helpers/sandboxes.js'
import {assertValidRecords} from '../helpers/schema.js'

type Rec = Record<string, any>

async function cli(args: string[]): Promise<{code: number | null; stdout: string; stderr: string}> {
  const r = runCli(args)
  const {code} = await r.exited
  return {code, stdout: r.stdout(), stderr: r.stderr()}
}

describe('e2e: explain and record --explain', function () {
  this.timeout(120_000)
  let dir = ''
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-e2e-explain-'))
  })
  after(async () => {
    killLeftovers()
    await cleanupAll()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('record --explain: the grace period waited out, after the summary; explain FILE --json gives the same findings', async function () {
    requireTracing(this)
    const sb = await startNsSandbox({sharePid: false})
    const app = await execInNsSandbox(sb, ['sleep', '1000'], {pidNs: 'own'})
    const id = `netns:${/\[(\d+)\]/.exec(nsLink(sb.pausePid, 'net'))?.[1]}`
    const out = path.join(dir, 'grace.jsonl')
    const run = runCli(['record', '-o', out, '--sandbox', id, '--explain'])
    await waitFor(() => hasFirstLine(out), 60_000, 'the trace header')
    process.kill(app.pid, 'SIGTERM')
    await new Promise((r) => setTimeout(r, 1000))
    process.kill(app.pid, 'SIGKILL')
    await app.exited
    await new Promise((r) => setTimeout(r, 600))
    run.child.kill('SIGINT')
    const {code} = await run.exited
    assert.equal(code, 0, run.stderr())
    const stderr = run.stderr()
    // the summary line, then the findings
    const lines = stderr.split('\n')
    assert.match(lines[0], /^pausetrace: \d+ events \(.*; 0 lost /, stderr)
    assert.equal(lines[1], 'pausetrace: 2 findings:', stderr)
    const term = `SIGTERM from node\\[${process.pid}\\] at \\+\\d+\\.\\d{6}s`
    assert.match(stderr, new RegExp(`^\\+\\d+\\.\\d{6}s problem grace-period-exhausted\\n  ${id}: ${term} did not end sleep\\[${app.pid}/1\\] \\(PID 1 in its namespace, no handler: the kernel dropped it\\); SIGKILL from node\\[${process.pid}\\] came 1\\.\\d\\d s later\\.$`, 'm'))
    assert.match(stderr, new RegExp(`^\\+\\d+\\.\\d{6}s warning sigterm-ignored-by-pid1\\n  ${id}: ${term} was dropped by the kernel: sleep\\[${app.pid}/1\\] is PID 1 `, 'm'))

    const again = await cli(['explain', out, '--json'])
    assert.equal(again.code, 0, again.stderr)
    const findings = again.stdout.trim().split('\n').map((l) => JSON.parse(l) as Rec)
    assertValidRecords(findings)
    assert.deepEqual(findings.map((f) => [f.kind, f.sandbox]), [['grace-period-exhausted', id], ['sigterm-ignored-by-pid1', id]])
    // the evidence is the file's own events: the SIGTERM and the SIGKILL
    const events = readRecords(out).filter((r) => r.type === 'event')
    const byT = (t: number): Rec | undefined => events.find((e) => e.t === t)
    assert.deepEqual(findings[0].evidence.map((t: number) => [byT(t)?.signame, byT(t)?.to?.pid]), [['SIGTERM', app.pid], ['SIGKILL', app.pid]])
    // the same text as record --explain printed
    const text = await cli(['explain', out])
    assert.equal(text.code, 0, text.stderr)
    assert.ok(stderr.includes(text.stdout.trim().split('\n\n')[0]), `${stderr}\n---\n${text.stdout}`)
    assert.equal(text.stderr, 'pausetrace: 2 findings (1 problem, 1 warning, 0 info).\n')
  })

  describe('bad input: one line, exit 2 (3 for a newer format), nothing printed', () => {
    it('no file, a missing file, a directory, junk, a newer version, --severity nonsense', async () => {
      const junk = path.join(dir, 'junk.jsonl')
      writeFileSync(junk, '\u0000\u0001binary')
      const newer = path.join(dir, 'newer.jsonl')
      writeFileSync(newer, `${JSON.stringify({type: 'header', format: 'pausetrace-trace', version: 99})}\n`)
      const sub = path.join(dir, 'a-dir')
      mkdirSync(sub, {recursive: true})
      const cases: Array<[string[], number, RegExp]> = [
        [[], 2, /^pausetrace: explain needs a trace file: pausetrace explain FILE… \(see --help\)$/],
        [[path.join(dir, 'missing.jsonl')], 2, /does not exist\.$/],
        [[sub], 2, /^pausetrace: /],
        [[junk], 2, /^pausetrace: /],
        [[newer], 3, /^pausetrace: /],
        [[junk, '--severity', 'loud'], 2, /^pausetrace: .*--severity/],
      ]
      for (const [args, code, message] of cases) {
        const r = await cli(['explain', ...args])
        assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`)
        assert.equal(r.stdout, '', args.join(' '))
        assert.match(r.stderr, /^pausetrace: [^\n]+\n$/, `${args.join(' ')}: ${r.stderr}`)
        assert.doesNotMatch(r.stderr, /\n\s+at /)
        assert.match(r.stderr.trim(), message, args.join(' '))
      }
    })
  })
})
