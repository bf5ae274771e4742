// End-to-end: `replay` and `export` of files that `record` just wrote on this machine with the
// C workload (plain and gzip), through the built CLI: byte-exact round trips, a file cut short,
// two recordings merged, junk input (exact exit codes, one stderr line), Perfetto and CSV output
// checked against the workload's manifest.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {gunzipSync} from 'node:zlib'
import os from 'node:os'
import path from 'node:path'
import {CLI, hasFirstLine, killLeftovers, requireTmux, requireTracing, runCli, waitFor} from '../helpers/e2e.js'
import {buildWorkload, type Manifest} from '../helpers/workload.js'
import {assertValidRecords} from '../helpers/schema.js'
import {checkPerfetto} from '../helpers/perfetto.js'
import {parseCsv} from '../helpers/csv.js'
import {CSV_COLUMNS} from '../../src/replay/csv.js'
import {isRuntimeNoise} from '../../src/events/runtime-procs.js'
import type {TraceEvent} from '../../src/events/types.js'

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

async function cli(args: string[]): Promise<Run> {
  const r = runCli(args)
  const {code} = await r.exited
  return {code, stdout: r.stdout(), stderr: r.stderr()}
}

/** stderr is exactly one `pausetrace: ` line, no stack trace. */
function oneLine(stderr: string): string {
  assert.match(stderr, /^pausetrace: [^\n]+\n$/, `stderr is not one "pausetrace: " line:\n${stderr}`)
  assert.doesNotMatch(stderr, /\n\s+at /)
  return stderr.slice(0, -1)
}

async function recordWorkload(out: string, sigwork: string): Promise<Manifest> {
  const run = runCli(['record', '-o', out, '--all'])
  await waitFor(() => (out.endsWith('.gz') ? statSafe(out) > 0 : hasFirstLine(out)), 60_000, 'the trace header')
  // gzip holds the header back until its first flush: give the probes time to be attached.
  if (out.endsWith('.gz')) await new Promise((r) => setTimeout(r, 1000))
  const manifest = JSON.parse(execFileSync(sigwork, ['--flood', '300', '--forks', '12']).toString()) as Manifest
  run.child.kill('SIGINT')
  const {code} = await run.exited
  assert.equal(code, 0, run.stderr())
  return manifest
}

function statSafe(p: string): number {
  try {
    return statSync(p).size
  } catch {
    return 0
  }
}

const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '')
const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`

function readFileSafe(p: string): string {
  try {
    return readFileSync(p, 'utf8')
  } catch {
    return ''
  }
}

describe('e2e: replay and export of real recordings', function () {
  this.timeout(180_000)
  let dir: string
  let plain: string
  let gz: string
  let mPlain: Manifest
  let mGz: Manifest
  let plainText: string
  let gzText: string

  before(async function () {
    requireTracing(this)
    const sigwork = buildWorkload()
    dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-e2e-replay-'))
    plain = path.join(dir, 'first.jsonl')
    gz = path.join(dir, 'second.jsonl.gz')
    mPlain = await recordWorkload(plain, sigwork)
    mGz = await recordWorkload(gz, sigwork)
    plainText = readFileSync(plain, 'utf8')
    gzText = gunzipSync(readFileSync(gz)).toString('utf8')
    assert.equal(readFileSync(gz)[0], 0x1f, 'record -o x.gz writes gzip')
  })
  afterEach(() => killLeftovers())
  after(() => {
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('replay --json prints what record wrote, byte for byte (plain and gzip)', async () => {
    for (const [file, text] of [[plain, plainText], [gz, gzText]]) {
      const r = await cli(['replay', file, '--json'])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stderr, '')
      assert.equal(r.stdout, text)
      assertValidRecords(lines(r.stdout).map((l) => JSON.parse(l)))
    }
  })

  it('two recordings merge in time order: the first, then the second', async () => {
    const r = await cli(['replay', gz, plain, '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, plainText + gzText)
  })

  it('files from two hosts: every event names its host; text lines show it after the time', async () => {
    const other = path.join(dir, 'other-host.jsonl')
    const [header, ...rest] = lines(gzText)
    writeFileSync(other, [JSON.stringify({...JSON.parse(header), host: 'node-b'}), ...rest].join('\n') + '\n')
    const r = await cli(['replay', plain, other, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const recs = lines(r.stdout).map((l) => JSON.parse(l) as Record<string, any>)
    assertValidRecords(recs)
    const host = JSON.parse(lines(plainText)[0]).host as string
    const events = recs.filter((x) => x.type === 'event')
    const isEvent = (l: string): boolean => l.startsWith('{"type":"event"')
    assert.equal(events.length, lines(plainText).filter(isEvent).length + rest.filter(isEvent).length)
    assert.equal(recs.length, lines(plainText).length + rest.length + 1)
    assert.deepEqual(new Set(events.map((e) => e.host)), new Set([host, 'node-b']))
    assert.equal(events.filter((e) => e.host === 'node-b').length, rest.filter(isEvent).length)
    const text = await cli(['replay', plain, other, '--text', '--signal', 'KILL'])
    assert.equal(text.code, 0, text.stderr)
    const tl = lines(text.stdout)
    // Lost records are never filtered out: a busy machine may have some.
    const lost = recs.filter((x) => x.type === 'lost')
    assert.equal(tl.length, events.filter((e) => (e.kind === 'signal' || e.kind === 'deliver' || e.kind === 'flood') && e.sig === 9).length + lost.length)
    for (const l of tl) assert.match(l, new RegExp(`^\\+\\d+\\.\\d{6}s (${host}|node-b) ((signal|deliver|flood) +(SIGKILL|\\d+× SIGKILL)|LOST )`))
  })

  it('a recording cut short mid-line replays up to its last whole line, with one warning', async () => {
    const cut = path.join(dir, 'cut.jsonl')
    const at = plainText.indexOf('\n', Math.floor(plainText.length * 0.7)) + 17
    writeFileSync(cut, plainText.slice(0, at))
    const r = await cli(['replay', cut, '--json'])
    assert.equal(r.code, 0)
    assert.equal(r.stdout, plainText.slice(0, plainText.lastIndexOf('\n', at) + 1))
    assert.equal(oneLine(r.stderr), `pausetrace: warning: ${cut}: the last line was cut short; no footer (the recording did not end cleanly); everything readable was replayed.`)
  })

  it('filters: --pid and --signal on the workload', async () => {
    const r = await cli(['replay', plain, '--json', '--pid', String(mPlain.sigkill.pid), '--signal', 'KILL'])
    assert.equal(r.code, 0, r.stderr)
    const events = lines(r.stdout).map((l) => JSON.parse(l)).filter((x) => x.type === 'event')
    assert.deepEqual(events.map((e) => [e.kind, e.sig]), [['signal', 9], ['deliver', 9]])
    assert.equal(events[0].from.pid, mPlain.pid)
    assert.equal(events[0].to.pid, mPlain.sigkill.pid)
    assert.equal(events[0].result, 'delivered')
  })

  describe('bad input: one line, exact exit code, nothing on stdout', () => {
    const cases: Array<[string, (d: string) => string[], number, (d: string) => string]> = [
      ['binary junk', (d) => ['replay', write(d, 'junk.bin', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0xff, 10, 0x00]))], 2, (d) => `pausetrace: ${d}/junk.bin is not a pausetrace trace file (its first line is not a JSON header).`],
      ['an empty file', (d) => ['replay', write(d, 'empty', '')], 2, (d) => `pausetrace: ${d}/empty is empty: not a pausetrace trace file.`],
      ['a wrong header', (d) => ['replay', '--json', write(d, 'wrong.jsonl', '{"type":"header","format":"something-else","version":1}\n{"type":"event"}\n')], 2, (d) => `pausetrace: ${d}/wrong.jsonl is not a pausetrace trace file (no pausetrace-trace header).`],
      ['a newer format version', (d) => ['replay', write(d, 'v9.jsonl', JSON.stringify({type: 'header', format: 'pausetrace-trace', version: 9, host: 'h'}) + '\n')], 3, (d) => `pausetrace: ${d}/v9.jsonl is trace format version 9; this pausetrace reads version 1 and older: upgrade pausetrace.`],
      ['a good file then junk', (d) => ['replay', '--json', path.join(d, 'first.jsonl'), write(d, 'junk2', 'hello\n')], 2, (d) => `pausetrace: ${d}/junk2 is not a pausetrace trace file (its first line is not a JSON header).`],
      ['a missing file', (d) => ['replay', path.join(d, 'nope.jsonl')], 2, (d) => `pausetrace: ${d}/nope.jsonl does not exist.`],
      ['a directory', (d) => ['replay', mkdir(d, 'adir')], 2, (d) => `pausetrace: ${d}/adir is a directory, not a trace file.`],
      ['a bad --speed', (d) => ['replay', path.join(d, 'first.jsonl'), '--speed', 'fast'], 2, () => 'pausetrace: --speed "fast" is not a speed; use a factor of real time such as 1, 2, 0.5, or 0 for as fast as possible.'],
      ['export of junk', (d) => ['export', write(d, 'junk3', '\u0000\u0001'), '--format', 'csv', '-o', path.join(d, 'never.csv')], 2, (d) => `pausetrace: ${d}/junk3 is not a pausetrace trace file (its first line is not a JSON header).`],
      ['export over an existing file', (d) => ['export', path.join(d, 'first.jsonl'), '--format', 'csv', '-o', write(d, 'exists.csv', 'x')], 2, (d) => `pausetrace: ${d}/exists.csv already exists; choose another name or pass --force to overwrite it.`],
    ]
    function write(d: string, name: string, content: string | Buffer): string {
      writeFileSync(path.join(d, name), content)
      return path.join(d, name)
    }
    function mkdir(d: string, name: string): string {
      mkdirSync(path.join(d, name), {recursive: true})
      return path.join(d, name)
    }
    for (const [what, args, code, message] of cases) {
      it(`${what}: exit ${code}`, async () => {
        const r = await cli(args(dir))
        assert.equal(r.code, code, r.stderr)
        assert.equal(oneLine(r.stderr), message(dir))
        assert.equal(r.stdout, '')
      })
    }
    it('export leaves no file behind when the input is junk', () => {
      assert.throws(() => statSync(path.join(dir, 'never.csv')), {code: 'ENOENT'})
    })
  })

  it('export --format perfetto: valid trace-event JSON with the workload\'s signals, exits and reaps', async () => {
    const out = path.join(dir, 'first.perfetto.json')
    const r = await cli(['export', plain, '--format', 'perfetto', '-o', out])
    assert.equal(r.code, 0, r.stderr)
    assert.match(oneLine(r.stderr), /^pausetrace: \d+ events → .*first\.perfetto\.json \(\d+ trace events, \d+ signal arrows\)$/)
    assert.equal(statSync(out).mode & 0o777, 0o600)
    const s = checkPerfetto(readFileSync(out, 'utf8'))
    const recs = lines(plainText).map((l) => JSON.parse(l) as Record<string, any>)
    const events = recs.filter((x) => x.type === 'event')
    assert.equal(s.flows.size, events.filter((e) => (e.kind === 'signal' || e.kind === 'flood') && e.to).length)
    // The workload's SIGKILL: an arrow from its track to the child's; the child's exit and reap.
    const m = mPlain
    const kill = [...s.flows.values()].filter((f) => f.s.tid === m.pid && f.f.tid === m.sigkill.pid)
    assert.ok(kill.length >= 1)
    assert.ok(s.events.some((e) => e.ph === 'i' && e.tid === m.sigkill.pid && e.name === 'killed by SIGKILL'))
    assert.ok(s.events.some((e) => e.ph === 'i' && e.tid === m.pid && e.name === `reap sigwork[${m.sigkill.pid}]: killed by SIGKILL`))
    for (const f of m.forks) {
      const life = s.events.find((e) => e.ph === 'X' && e.cat === 'life' && e.tid === f.pid)
      assert.ok(life, `a life slice for fork child ${f.pid}`)
      assert.equal(life.args?.exit, `exit code ${f.code}`)
      assert.equal(life.args?.reapedBy, `sigwork[${m.pid}]`)
    }
    assert.equal(s.threadNames.get(`${s.events.find((e) => e.tid === m.pid && e.ph !== 'M')?.pid}/${m.pid}`), 'sigwork')
  })

  it('export --format csv: a header, one row per event, the workload\'s reaps with their exit codes', async () => {
    const src = path.join(dir, 'second-copy.jsonl.gz')
    copyFileSync(gz, src)
    const out = path.join(dir, 'second.csv')
    const r = await cli(['export', src, '--format', 'csv', '-o', out])
    assert.equal(r.code, 0, r.stderr)
    const recs = lines(gzText).map((l) => JSON.parse(l) as Record<string, any>)
    const n = recs.filter((x) => x.type === 'event' || x.type === 'lost').length
    assert.equal(oneLine(r.stderr), `pausetrace: ${recs.filter((x) => x.type === 'event').length} events → ${out} (${n} rows)`)
    const rows = parseCsv(readFileSync(out, 'utf8'))
    assert.deepEqual(rows[0], [...CSV_COLUMNS])
    assert.equal(rows.length, 1 + n)
    const objs = rows.slice(1).map((row) => Object.fromEntries(CSV_COLUMNS.map((c, i) => [c, row[i]])))
    const m = mGz
    for (const f of m.forks) {
      const reap = objs.filter((o) => o.kind === 'reap' && o.child_pid === String(f.pid))
      assert.deepEqual(reap.map((o) => [o.reaper_pid, o.exit_code, o.status, o.syscall]), [[String(m.pid), String(f.code), `exited ${f.code}`, 'wait4']])
    }
    const esrch = objs.filter((o) => o.kind === 'signal' && o.from_pid === String(m.pid) && o.errno === 'ESRCH')
    assert.deepEqual(esrch.map((o) => [o.signal, o.ret, o.target, o.to_pid]), [['SIGTERM', String(-m.esrch.errno), `pid ${m.esrch.pid}`, '']])
  })

  it('replay --tui needs a terminal: one clear line, exit 2, when stdout is a pipe', async () => {
    const r = await cli(['replay', plain, '--tui'])
    assert.equal(r.code, 2)
    assert.equal(oneLine(r.stderr), 'pausetrace: replay --tui needs a terminal (stdin and stdout); use --text or --json for pipes and files.')
    assert.equal(r.stdout, '')
  })

  it('replay --tui on a terminal (tmux): the timeline of the recording, q quits with exit 0', async function () {
    requireTmux(this)
    const session = `pausetrace-e2e-${process.pid}`
    const status = path.join(dir, 'tui.status')
    const tmux = (...args: string[]): string => execFileSync('/usr/bin/tmux', args, {encoding: 'utf8'})
    // a person's terminal, not CI: under CI=true Ink draws nothing until it unmounts
    const command = `env -u CI -u CONTINUOUS_INTEGRATION ${shq(process.execPath)} ${shq(CLI)} replay ${shq(plain)} --tui --speed 0; echo $? > ${shq(status)}; sleep 60`
    tmux('new-session', '-d', '-s', session, '-x', '150', '-y', '50', command)
    try {
      let screen = ''
      // The header counts the events played: all of the file's once the replay is done, but for
      // those among the container runtime's own processes (folded away without --runtime-noise).
      const nEvents = lines(plainText).filter((l) => l.startsWith('{"type":"event"') && !isRuntimeNoise(JSON.parse(l) as TraceEvent)).length
      // (and the status line at the bottom: a capture can come while Ink is still writing the frame)
      await waitFor(() => ((screen = tmux('capture-pane', '-p', '-t', session)).includes(` ${nEvents} events · `) && /q quit/.test(screen)) || existsSync(status), 30_000, `"${nEvents} events" and the status line on screen`)
      assert.ok(!existsSync(status), `replay --tui ended by itself: ${readFileSafe(status)}\n${screen}`)
      assert.match(screen, /^pausetrace · /)
      assert.match(screen, /q quit/)
      tmux('send-keys', '-t', session, 'q')
      await waitFor(() => existsSync(status), 10_000, 'replay --tui to quit on q')
      assert.equal(readFileSafe(status).trim(), '0')
    } finally {
      try {
        tmux('kill-session', '-t', session)
      } catch {
        // gone
      }
    }
  })

})
