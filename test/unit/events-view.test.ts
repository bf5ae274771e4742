import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {buildScript, type Scope} from '../../src/probe/script.js'
import {BIND_SCRIPT, eventsLauncher, eventsView, eventsViewUsable, findUnshare, isLauncherFailure, programTracepoints, readsEventsPerProbe, SHELL} from '../../src/probe/events-view.js'
import {BpftraceRunner} from '../../src/probe/runner.js'

const ADMIN = 1n << 21n

describe('the narrowed available_events for bpftrace 0.17–0.20', () => {
  it('names every tracepoint the real program attaches to, each once', () => {
    const scopes: Scope[] = [{kind: 'all'}, {kind: 'sandboxes', seed: [1]}]
    for (const scope of scopes) {
      const program = buildScript({argsDot: false, pidFlexArray: true, rawSignalGenerate: false, scope, signals: [], cpus: [0, 1]})
      const names = programTracepoints(program)
      // every attach point of the form tracepoint:category:event is in the list
      // every attach point (a line that starts with one; comments name some too, which is harmless)
      const attach = program.split('\n').flatMap((l) => /^\s*tracepoint:([a-z_]+:[a-z0-9_]+)/.exec(l)?.[1] ?? [])
      assert.ok(attach.length >= 25, `${attach.length} attach points`)
      for (const a of attach) assert.ok(names.includes(a), `${a} missing`)
      assert.equal(new Set(names).size, names.length)
      assert.ok(names.includes('signal:signal_generate') && names.includes('sched:sched_process_exit') && names.includes('syscalls:sys_exit_waitid'))
      assert.ok(names.every((n) => /^[a-z_]+:[a-z0-9_]+$/.test(n)), names.join(' '))
    }
  })

  it('keeps only the tracepoints this kernel has, one per line', () => {
    const program = 'tracepoint:syscalls:sys_enter_kill { } tracepoint:syscalls:sys_enter_pidfd_send_signal { } interval:ms:100 { }'
    const have = new Set(['/t/events/syscalls/sys_enter_kill'])
    assert.equal(eventsView(program, '/t', (p) => have.has(p)), 'syscalls:sys_enter_kill\n')
  })

  it('is used only where it helps and can work', () => {
    const base = {bpftrace: {major: 0, minor: 17}, tracefs: '/sys/kernel/tracing', unshare: '/usr/bin/unshare', shell: true, caps: ADMIN}
    assert.equal(eventsViewUsable(base), true)
    assert.equal(eventsViewUsable({...base, bpftrace: {major: 0, minor: 20}}), true)
    assert.equal(eventsViewUsable({...base, bpftrace: {major: 0, minor: 23}}), false)
    assert.equal(eventsViewUsable({...base, bpftrace: {major: 1, minor: 0}}), false)
    assert.equal(eventsViewUsable({...base, tracefs: undefined}), false)
    assert.equal(eventsViewUsable({...base, unshare: undefined}), false)
    assert.equal(eventsViewUsable({...base, shell: false}), false)
    assert.equal(eventsViewUsable({...base, caps: (1n << 39n) | (1n << 38n)}), false, 'CAP_BPF + CAP_PERFMON cannot make a mount namespace')
    assert.equal(readsEventsPerProbe({major: 0, minor: 17}), true)
  })

  it('finds unshare on PATH', () => {
    assert.equal(findUnshare({PATH: '/a:/b'}, (p) => p === '/b/unshare'), '/b/unshare')
    assert.equal(findUnshare({PATH: '/a'}, () => false), undefined)
  })

  it('tells unshare failing from bpftrace failing', () => {
    assert.equal(isLauncherFailure('unshare: unshare failed: Operation not permitted'), true)
    assert.equal(isLauncherFailure('ERROR: tracepoint not found: syscalls:sys_enter_kill'), false)
  })

  describe('the launcher, run for real with stand-ins for unshare and mount', () => {
    let dir: string
    beforeEach(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-unit-view-'))
    })
    afterEach(() => rmSync(dir, {recursive: true, force: true}))

    it('binds the view over the available_events that exist, then execs the command in place with its arguments untouched', () => {
      const log = path.join(dir, 'mount.log')
      const mount = path.join(dir, 'mount')
      writeFileSync(mount, `#!/bin/sh\necho "$@" >> ${log}\n`)
      chmodSync(mount, 0o755)
      const view = path.join(dir, 'view')
      writeFileSync(view, 'syscalls:sys_enter_kill\n')
      const tricky = 'a "quoted" $(arg) with; spaces'
      // the script as the launcher gives it to the shell, with the stand-in mount first on PATH
      const out = execFileSync(SHELL, ['-c', BIND_SCRIPT, 'sh', view, process.execPath, '-e', 'console.log(JSON.stringify(process.argv.slice(1)))', tricky], {
        env: {...process.env, PATH: `${dir}:${process.env.PATH}`},
        encoding: 'utf8',
      })
      assert.deepEqual(JSON.parse(out), [tricky])
      const binds = readFileSync(log, 'utf8').trim().split('\n')
      const expected = ['/sys/kernel/debug/tracing/available_events', '/sys/kernel/tracing/available_events'].filter((f) => existsSync(f))
      assert.deepEqual(binds, expected.map((f) => `--bind ${view} ${f}`))
    })

    it('the runner puts bpftrace and its whole command line after the launcher, and the PID is the one it spawned', async () => {
      const unshare = path.join(dir, 'unshare')
      const out = path.join(dir, 'argv.json')
      // a stand-in unshare: writes its PID and arguments, then execs what follows `sh VIEW` in place
      writeFileSync(unshare, `#!/bin/sh\nprintf '%s\\n' "$$" "$@" > ${out}\nwhile [ "$1" != "$(cat ${dir}/view-name)" ]; do shift; done\nshift\nexec "$@"\n`)
      chmodSync(unshare, 0o755)
      writeFileSync(path.join(dir, 'view-name'), path.join(dir, 'view'))
      const fake = path.join(dir, 'fake-bpftrace')
      writeFileSync(fake, `#!/bin/sh\necho "$$"\n`)
      chmodSync(fake, 0o755)
      const runner = new BpftraceRunner({command: fake, launcher: eventsLauncher(unshare, path.join(dir, 'view')), program: 'BEGIN { }', params: ['7'], env: process.env})
      let text = ''
      runner.on('data', (b: Buffer) => (text += b.toString()))
      runner.start()
      const pid = runner.pid
      await runner.wait()
      assert.equal(Number(text.trim()), pid, 'bpftrace runs in the PID node spawned')
      const argv = readFileSync(out, 'utf8').trimEnd().split('\n')
      assert.equal(Number(argv[0]), pid)
      assert.deepEqual(argv.slice(1, 8), ['-m', '--propagation', 'private', '--', SHELL, '-c', BIND_SCRIPT])
      assert.deepEqual(argv.slice(8, 11), ['sh', path.join(dir, 'view'), fake])
      assert.deepEqual(argv.slice(11), ['--no-warnings', '-f', 'json', '-e', 'BEGIN { }', String(process.pid), '7'])
    })
  })
})
