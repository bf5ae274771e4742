// End-to-end: `record` and `doctor` on bad input and a hostile environment. Real processes, no
// mocks: the built CLI (bin/run.js), the real bpftrace, setpriv for a non-root user, a private
// mount namespace without tracefs, fake bpftraces written into a temp dir at run time. Each case
// checks the exact exit code of CONTRACT.md, that stderr is one `pausetrace: ` line saying what
// to do, and, where a trace file is involved, that nothing recorded is lost and no bpftrace is
// left running (checked by PID and start time through /proc, never by name).
import assert from 'node:assert/strict'
import {execFile, execFileSync} from 'node:child_process'
import {chmodSync, chownSync, copyFileSync, existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {promisify} from 'node:util'
import {CLI, ROOT, childrenOf, hasFirstLine, killLeftovers, requireTracing, runCli, waitFor, type CliRun} from '../helpers/e2e.js'
import {assertValidRecords} from '../helpers/schema.js'

const execFileP = promisify(execFile)
const FIXTURES = path.join(ROOT, 'test/fixtures/fake-bpftrace')
const NOBODY = 65534
const AS_NOBODY = ['/usr/bin/setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath]
// Unmounts tracefs (both places it can be) in the private mount namespace, then runs "$@".
// Exit 97 = the setup itself failed, so a wrong exit code is never mistaken for the CLI's.
const NO_TRACEFS_SH = [
  'umount /sys/kernel/tracing || exit 97',
  'if mountpoint -q /sys/kernel/debug/tracing; then umount /sys/kernel/debug/tracing || exit 97; fi',
  'test ! -e /sys/kernel/tracing/events/signal || exit 97',
  'exec "$@"',
].join('\n')
const WITHOUT_TRACEFS = ['/usr/bin/unshare', '--mount', '--propagation', 'private', '/bin/sh', '-c', NO_TRACEFS_SH, 'sh', process.execPath]

/** stderr is exactly one line, `pausetrace: …`, no stack trace and no "Error:" dump; returns it. */
function oneLine(stderr: string): string {
  assert.match(stderr, /^pausetrace: [^\n]+\n$/, `stderr is not one "pausetrace: " line:\n${stderr}`)
  assert.doesNotMatch(stderr, /\bError:|\n\s+at /, `stderr carries an error dump:\n${stderr}`)
  return stderr.slice(0, -1)
}

interface ProcId {
  pid: number
  start: string
  comm: string
  argv: string[]
}

/** PID + start time (field 22 of /proc/PID/stat): the identity of one process, immune to PID reuse. */
function procId(pid: number): ProcId | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1)
    return {pid, start: rest[19], comm: readFileSync(`/proc/${pid}/comm`, 'utf8').trim(), argv}
  } catch {
    return undefined
  }
}

function alive(p: ProcId): boolean {
  return procId(p.pid)?.start === p.start
}

/** Collects, every 20 ms, the direct children of a running CLI (bpftrace, or a wrapper that execs it). */
class ChildWatch {
  readonly seen = new Map<number, ProcId>()
  private timer: NodeJS.Timeout

  constructor(readonly pid: number) {
    this.poll()
    this.timer = setInterval(() => this.poll(), 20)
  }

  poll(): void {
    for (const c of childrenOf(this.pid)) {
      const id = procId(c)
      if (!id) continue
      const old = this.seen.get(c)
      // A wrapper that execs bpftrace keeps its PID: keep the latest look, except that a process
      // on its way out (a zombie) shows an empty command line.
      if (old && old.start === id.start && id.argv.length === 0) id.argv = old.argv
      this.seen.set(c, id)
    }
  }

  stop(): void {
    clearInterval(this.timer)
  }

  /** bpftraces started to trace (`-e PROGRAM`); `bpftrace --version` runs are left out. */
  bpftraces(): ProcId[] {
    return [...this.seen.values()].filter((p) => p.comm === 'bpftrace' && p.argv.includes('-e'))
  }

  /** Nothing this CLI started is still alive (asserted right after the CLI exited). */
  assertNoneLeft(): void {
    this.stop()
    const left = [...this.seen.values()].filter(alive).map((p) => `${p.pid} ${p.comm} ${p.argv.slice(0, 4).join(' ')}…`)
    assert.deepEqual(left, [], `still running after the CLI exited: ${left.join('; ')}`)
  }

  killLeft(): void {
    this.stop()
    for (const p of this.seen.values()) {
      if (alive(p)) {
        try {
          process.kill(p.pid, 'SIGKILL')
        } catch {
          // gone meanwhile
        }
      }
    }
  }
}

describe('e2e: record and doctor on bad input', function () {
  this.timeout(60_000)
  let dir: string
  let home: string | undefined
  const watches: ChildWatch[] = []

  before(function () {
    requireTracing(this)
  })
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-e2e-err-'))
  })
  afterEach(() => {
    killLeftovers()
    for (const w of watches.splice(0)) w.killLeft()
    rmSync(dir, {recursive: true, force: true})
    if (home) rmSync(home, {recursive: true, force: true})
    home = undefined
  })

  /** Runs the CLI and watches its children from the start. */
  function start(args: string[], opts: Parameters<typeof runCli>[1] = {}): {run: CliRun; watch: ChildWatch} {
    const run = runCli(args, opts)
    const watch = new ChildWatch(run.child.pid as number)
    watches.push(watch)
    return {run, watch}
  }

  async function finish(args: string[], opts: Parameters<typeof runCli>[1] = {}): Promise<{code: number | null; stdout: string; stderr: string; watch: ChildWatch}> {
    const {run, watch} = start(args, opts)
    const {code} = await run.exited
    watch.assertNoneLeft()
    return {code, stdout: run.stdout(), stderr: run.stderr(), watch}
  }

  /** A fake bpftrace from test/fixtures/fake-bpftrace, made executable in the temp dir. */
  function fake(name: string): string {
    const p = path.join(dir, name)
    copyFileSync(path.join(FIXTURES, name), p)
    chmodSync(p, 0o755)
    return p
  }

  function assertTraceFile(file: string, reason: string): Array<Record<string, any>> {
    const text = readFileSync(file, 'utf8')
    assert.ok(text.endsWith('\n'), 'the trace file ends in the middle of a line')
    const lines = text.slice(0, -1).split('\n')
    const records = lines.map((l, i) => {
      try {
        return JSON.parse(l) as Record<string, any>
      } catch {
        return assert.fail(`line ${i + 1} of the trace is not JSON: ${l.slice(0, 200)}`)
      }
    })
    assertValidRecords(records)
    assert.equal(records[0].type, 'header')
    assert.equal(records.filter((r) => r.type === 'header').length, 1)
    const footer = records.at(-1) as Record<string, any>
    assert.equal(footer.type, 'footer')
    assert.equal(records.filter((r) => r.type === 'footer').length, 1)
    assert.equal(footer.reason, reason)
    assert.equal(footer.events, records.filter((r) => r.type === 'event').length)
    return records
  }

  const summary = (reason: string, to: string): RegExp =>
    new RegExp(`^pausetrace: \\d+ events( \\(.*\\))? in [\\d.]+ s → ${to.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}; \\d+ lost \\(.*\\); \\d+ signals counted in flood summaries; stopped: ${reason}$`)

  describe('not root', () => {
    beforeEach(function () {
      // node, running as nobody, must be able to read the project; else say so and skip.
      try {
        execFileSync(AS_NOBODY[0], [...AS_NOBODY.slice(1), '-e', 'require("fs").accessSync(process.argv[1], require("fs").constants.R_OK)', CLI], {stdio: 'pipe'})
        execFileSync(AS_NOBODY[0], [...AS_NOBODY.slice(1), '-e', 'require(require.resolve("@oclif/core", {paths: [process.argv[1]]}))', ROOT], {stdio: 'pipe'})
      } catch (err) {
        const why = `uid ${NOBODY} cannot read the project at ${ROOT}: ${(err as Error).message.split('\n')[0]}`
        if (process.env.CI === 'true') throw new Error(`end-to-end test cannot run under CI=true: ${why}`)
        console.warn(`    SKIPPED: ${why}`)
        this.skip()
      }
      // A non-root user has a home of its own (the root one is unreadable to it).
      home = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-e2e-home-'))
      chownSync(home, NOBODY, NOBODY)
      chmodSync(dir, 0o777)
    })

    it('record exits 3 and says to use sudo; writes nothing', async () => {
      const out = path.join(dir, 'x')
      const r = await finish(['record', '-o', out, '--all'], {argv0: AS_NOBODY, env: {HOME: home}})
      assert.equal(r.code, 3, r.stderr)
      const line = oneLine(r.stderr)
      assert.match(line, /root/)
      assert.match(line, /sudo/)
      assert.equal(r.stdout, '')
      assert.equal(existsSync(out), false)
      assert.deepEqual(r.watch.bpftraces(), [])
    })

    it('doctor --json exits 3 with a report whose privileges check failed', async () => {
      const r = await finish(['doctor', '--json'], {argv0: AS_NOBODY, env: {HOME: home}})
      assert.equal(r.code, 3, r.stderr)
      assert.equal(r.stderr, '')
      const lines = r.stdout.split('\n')
      assert.equal(lines.length, 2, r.stdout)
      assert.equal(lines[1], '')
      const report = JSON.parse(lines[0]) as {ok: boolean; checks: Array<{name: string; ok: boolean; required: boolean; detail: string; fix?: string}>}
      assert.equal(report.ok, false)
      const priv = report.checks.find((c) => c.name === 'privileges')
      assert.ok(priv, JSON.stringify(report))
      assert.equal(priv.ok, false)
      assert.equal(priv.required, true)
      assert.equal(priv.detail, `running as uid ${NOBODY} without the capabilities`)
      assert.match(priv.fix ?? '', /sudo/)
      assert.deepEqual(r.watch.bpftraces(), [])
    })

    it('doctor --json does not tell nobody to mount a tracefs that is mounted', async () => {
      const r = await finish(['doctor', '--json'], {argv0: AS_NOBODY, env: {HOME: home}})
      assert.equal(r.code, 3, r.stderr)
      const report = JSON.parse(r.stdout) as {checks: Array<{name: string; ok: boolean; detail: string; fix?: string}>}
      const tfs = report.checks.find((c) => c.name === 'tracefs')
      assert.ok(tfs, r.stdout)
      // tracefs is mounted (requireTracing checked); it is only unreadable to uid 65534
      assert.doesNotMatch(tfs.detail, /not mounted/, JSON.stringify(tfs))
      assert.doesNotMatch(tfs.fix ?? '', /mount -t tracefs/, JSON.stringify(tfs))
    })
  })

  describe('bpftrace missing or too old', () => {
    it('--bpftrace /nonexistent/bpftrace exits 3 and leaves no file', async () => {
      const out = path.join(dir, 'trace.jsonl')
      const r = await finish(['record', '-o', out, '--all', '--bpftrace', '/nonexistent/bpftrace'])
      assert.equal(r.code, 3, r.stderr)
      assert.equal(oneLine(r.stderr), 'pausetrace: --bpftrace /nonexistent/bpftrace is not an executable file; give the path of a bpftrace binary or wrapper.')
      assert.equal(existsSync(out), false)
    })

    it('PAUSETRACE_BPFTRACE=/nonexistent exits 3 and leaves no file', async () => {
      const out = path.join(dir, 'trace.jsonl')
      const r = await finish(['record', '-o', out, '--all'], {env: {PAUSETRACE_BPFTRACE: '/nonexistent'}})
      assert.equal(r.code, 3, r.stderr)
      assert.equal(oneLine(r.stderr), 'pausetrace: PAUSETRACE_BPFTRACE=/nonexistent is not an executable file; unset it or point it at a bpftrace binary.')
      assert.equal(existsSync(out), false)
    })

    it('a bpftrace that says v0.12.0 exits 3 and names 0.17', async () => {
      const out = path.join(dir, 'trace.jsonl')
      const r = await finish(['record', '-o', out, '--all', '--bpftrace', fake('too-old.sh')])
      assert.equal(r.code, 3, r.stderr)
      const line = oneLine(r.stderr)
      assert.match(line, /v0\.12\.0 is too old/)
      assert.match(line, /0\.17 or newer/)
      assert.equal(existsSync(out), false)
    })
  })

  describe('tracefs not mounted (private mount namespace)', () => {
    afterEach(() => {
      // the unmount stayed inside the namespace
      assert.ok(existsSync('/sys/kernel/tracing/events/signal'), 'tracefs is gone from the host')
    })

    it('record exits 3 with the mount command', async () => {
      const out = path.join(dir, 'trace.jsonl')
      const r = await finish(['record', '-o', out, '--all'], {argv0: WITHOUT_TRACEFS})
      assert.equal(r.code, 3, r.stderr)
      const line = oneLine(r.stderr)
      assert.match(line, /tracefs is not mounted/)
      assert.match(line, /mount -t tracefs nodev \/sys\/kernel\/tracing$/)
      assert.equal(existsSync(out), false)
      assert.deepEqual(r.watch.bpftraces(), [])
    })

    it('doctor exits 3 with a fix line', async () => {
      const r = await finish(['doctor'], {argv0: WITHOUT_TRACEFS})
      assert.equal(r.code, 3, r.stderr)
      assert.equal(r.stderr, '')
      const lines = r.stdout.split('\n')
      const i = lines.findIndex((l) => /^FAIL tracefs\s/.test(l))
      assert.ok(i >= 0, r.stdout)
      assert.equal(lines[i + 1].trim(), 'fix: sudo mount -t tracefs nodev /sys/kernel/tracing')
      assert.ok(lines.includes('Tracing cannot work here until the failed checks are fixed.'), r.stdout)
    })
  })

  it('a probe that will not attach: exit 3 with bpftrace\'s own error, no file, nothing running', async () => {
    const out = path.join(dir, 'trace.jsonl')
    const r = await finish(['record', '-o', out, '--all', '--bpftrace', fake('attach-fails.sh')])
    assert.equal(r.code, 3, r.stderr)
    const line = oneLine(r.stderr)
    assert.match(line, /^pausetrace: bpftrace could not start the probes \(exit 1\): .*ERROR: tracepoint not found: syscalls:sys_enter_nonexistent/)
    assert.match(line, /pausetrace doctor/)
    // nothing was recorded: a user expects no file (an empty one makes the next run fail "already exists")
    assert.equal(existsSync(out), false, `${out} was left behind (${existsSync(out) ? statSync(out).size : 0} bytes)`)
  })

  it('bpftrace killed mid-run: exit 4, footer bpftrace-exit, nothing recorded lost', async () => {
    const out = path.join(dir, 'trace.jsonl')
    const {run, watch} = start(['record', '-o', out, '--all'])
    await waitFor(() => hasFirstLine(out), 30_000, 'the trace header')
    for (let i = 0; i < 5; i++) await execFileP('/bin/true')
    await waitFor(() => readFileSync(out, 'utf8').includes('"filename":"/bin/true"'), 10_000, 'the exec of /bin/true in the file')
    const before = readFileSync(out, 'utf8')
    watch.poll()
    const bts = watch.bpftraces()
    assert.equal(bts.length, 1, JSON.stringify([...watch.seen.values()]))
    process.kill(bts[0].pid, 'SIGKILL')
    const {code} = await run.exited
    watch.assertNoneLeft()
    assert.equal(code, 4, run.stderr())
    const after = readFileSync(out, 'utf8')
    assert.ok(after.startsWith(before.slice(0, before.lastIndexOf('\n') + 1)), 'records written before the kill were lost')
    const records = assertTraceFile(out, 'bpftrace-exit')
    assert.ok(records.filter((r) => r.kind === 'exec' && r.filename === '/bin/true').length >= 5)
    const lines = run.stderr().split('\n')
    assert.equal(lines.pop(), '')
    assert.ok(lines.every((l) => l.startsWith('pausetrace: ')), run.stderr())
    assert.doesNotMatch(run.stderr(), /\bError:|\n\s+at /)
    assert.match(lines.at(-1) as string, /^pausetrace: .*bpftrace/)
    assert.equal(run.stdout(), '')
  })

  describe('output safety', () => {
    it('-o EXISTING without --force: exit 2, file unchanged', async () => {
      const out = path.join(dir, 'precious.jsonl')
      writeFileSync(out, 'keep me\n', {mode: 0o644})
      const r = await finish(['record', '-o', out, '--all'])
      assert.equal(r.code, 2, r.stderr)
      assert.equal(oneLine(r.stderr), `pausetrace: ${out} already exists; choose another name or pass --force to overwrite it.`)
      assert.equal(readFileSync(out, 'utf8'), 'keep me\n')
      assert.equal(statSync(out).mode & 0o777, 0o644)
      assert.deepEqual(r.watch.bpftraces(), [])
    })

    it('-o EXISTING --force --duration 1s: exit 0, overwritten, mode 0600', async () => {
      const out = path.join(dir, 'old.jsonl')
      writeFileSync(out, 'old content\n'.repeat(1000), {mode: 0o644})
      const r = await finish(['record', '-o', out, '--all', '--force', '--duration', '1s'])
      assert.equal(r.code, 0, r.stderr)
      assert.match(oneLine(r.stderr), summary('duration', out))
      assert.equal(statSync(out).mode & 0o777, 0o600)
      assertTraceFile(out, 'duration')
      assert.doesNotMatch(readFileSync(out, 'utf8'), /old content/)
      assert.equal(r.watch.bpftraces().length, 1)
    })

    it('-o SYMLINK --force: exit 2, the link and its target unchanged', async () => {
      const target = path.join(dir, 'target')
      const link = path.join(dir, 'link.jsonl')
      writeFileSync(target, 'target content\n', {mode: 0o644})
      symlinkSync(target, link)
      for (const extra of [[], ['--force']]) {
        const r = await finish(['record', '-o', link, '--all', '--duration', '1s', ...extra])
        assert.equal(r.code, 2, r.stderr)
        assert.equal(oneLine(r.stderr), `pausetrace: ${link} is a symbolic link; pausetrace does not write through links, give the real path.`)
        assert.equal(readFileSync(target, 'utf8'), 'target content\n')
        assert.equal(statSync(target).mode & 0o777, 0o644)
        assert.ok(lstatSync(link).isSymbolicLink())
        assert.equal(readlinkSync(link), target)
      }
    })

    it('-o /nonexistent-dir/x: exit 2', async () => {
      const r = await finish(['record', '-o', '/nonexistent-dir/x', '--all'])
      assert.equal(r.code, 2, r.stderr)
      assert.equal(oneLine(r.stderr), 'pausetrace: cannot create /nonexistent-dir/x: its directory does not exist.')
      assert.equal(existsSync('/nonexistent-dir'), false)
    })
  })

  describe('flag nonsense: exit 2, one line, no file', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--duration', 'abc'], /^pausetrace: --duration "abc" is not a duration; use e\.g\. /],
      [['--duration', '-5s'], /^pausetrace: --duration "-5s" is not a duration; use e\.g\. /],
      [['--duration', '0'], /^pausetrace: --duration "0" is not a duration; use e\.g\. /],
      [['--max-size', 'lots'], /^pausetrace: --max-size "lots" is not a size; use e\.g\. /],
      [['--pid', '0'], /^pausetrace: --pid "0" is not a PID \(a whole number from 1 to 4194304\)\.$/],
      [['--pid', 'abc'], /^pausetrace: --pid "abc" is not a PID /],
      [['--pid', '99999999'], /^pausetrace: --pid "99999999" is not a PID /],
      [['--signal', 'SIGFOO'], /^pausetrace: --signal "SIGFOO" is not a signal; use a name like TERM/],
      [['--signal', '65'], /^pausetrace: --signal "65" is not a signal; .*a number from 1 to 64\.$/],
      [['--cri-socket', '/nonexistent.sock'], /^pausetrace: --cri-socket "\/nonexistent\.sock" is not a unix socket; give the runtime's CRI socket as an absolute path \(containerd: /],
      [['--bogus'], /^pausetrace: Nonexistent flag: --bogus \(see --help\)$/],
    ]
    for (const [flags, message] of cases) {
      it(flags.join(' '), async () => {
        const out = path.join(dir, 'trace.jsonl')
        const r = await finish(['record', '-o', out, '--all', ...flags])
        assert.equal(r.code, 2, r.stderr)
        assert.match(oneLine(r.stderr), message)
        assert.equal(existsSync(out), false)
        assert.deepEqual(r.watch.bpftraces(), [])
      })
    }

    it('missing -o names the flag', async () => {
      const r = await finish(['record', '--all'])
      assert.equal(r.code, 2, r.stderr)
      const line = oneLine(r.stderr)
      assert.match(line, /Missing required flag (-o|output|--output)/, line)
    })
  })

  describe('stopping by itself', () => {
    it('--duration 2s: exit 0, footer duration, at least 2 s recorded', async () => {
      const out = path.join(dir, 'trace.jsonl')
      const r = await finish(['record', '-o', out, '--all', '--duration', '2s'])
      assert.equal(r.code, 0, r.stderr)
      assert.match(oneLine(r.stderr), summary('duration', out))
      const records = assertTraceFile(out, 'duration')
      const ms = Date.parse(records.at(-1)?.endedAt) - Date.parse(records[0].startedAt)
      assert.ok(ms >= 2000, `stopped after ${ms} ms`)
      assert.equal(r.watch.bpftraces().length, 1)
    })

    it('--max-size 2000 under a /bin/true loop: exit 0, footer max-size', async () => {
      const out = path.join(dir, 'trace.jsonl')
      const {run, watch} = start(['record', '-o', out, '--all', '--max-size', '2000'])
      let exited = false
      void run.exited.then(() => (exited = true))
      await waitFor(() => hasFirstLine(out) || exited, 30_000, 'the trace header')
      let spawned = 0
      while (!exited && spawned < 2000) {
        await execFileP('/bin/true')
        spawned++
      }
      const {code} = await run.exited
      watch.assertNoneLeft()
      assert.equal(code, 0, run.stderr())
      assert.match(oneLine(run.stderr()), summary('max-size', out))
      assert.ok(spawned < 2000, 'never stopped at --max-size')
      assertTraceFile(out, 'max-size')
      assert.ok(statSync(out).size >= 2000, `only ${statSync(out).size} bytes`)
      assert.equal(watch.bpftraces().length, 1)
    })
  })

  it('-o - writes the trace to stdout and the summary to stderr only', async () => {
    const r = await finish(['record', '-o', '-', '--all', '--duration', '1s'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(oneLine(r.stderr), summary('duration', 'stdout'))
    const file = path.join(dir, 'stdout.jsonl')
    writeFileSync(file, r.stdout)
    assertTraceFile(file, 'duration')
    assert.doesNotMatch(r.stdout, /pausetrace: /)
    assert.equal(existsSync(path.join(ROOT, '-')), false)
    assert.equal(r.watch.bpftraces().length, 1)
  })

  for (const sig of ['SIGTERM', 'SIGHUP'] as const) {
    it(`${sig} to record: clean stop, exit 0, footer interrupt`, async () => {
      const out = path.join(dir, 'trace.jsonl')
      const {run, watch} = start(['record', '-o', out, '--all'])
      await waitFor(() => hasFirstLine(out), 30_000, 'the trace header')
      for (let i = 0; i < 3; i++) await execFileP('/bin/true')
      await waitFor(() => readFileSync(out, 'utf8').includes('"filename":"/bin/true"'), 10_000, 'the exec of /bin/true in the file')
      const before = readFileSync(out, 'utf8')
      run.child.kill(sig)
      const {code, signal} = await run.exited
      watch.assertNoneLeft()
      assert.equal(signal, null)
      assert.equal(code, 0, run.stderr())
      assert.match(oneLine(run.stderr()), summary('interrupt', out))
      assert.ok(readFileSync(out, 'utf8').startsWith(before.slice(0, before.lastIndexOf('\n') + 1)), 'records written before the signal were lost')
      const records = assertTraceFile(out, 'interrupt')
      assert.ok(records.filter((r) => r.kind === 'exec' && r.filename === '/bin/true').length >= 3)
      assert.equal(watch.bpftraces().length, 1)
    })
  }
})
