// End to end: `record --metrics` on 127.0.0.1 while a namespace sandbox does known things: a PID 1
// without a handler (sleep) is sent SIGTERM 3 times (each dropped), a PID 1 that never waits keeps
// a zombie, the sleep is SIGKILLed and reaped, and 20000 SIGWINCH flood it while /metrics is
// scraped every 20 ms. Each value scraped is checked against the trace file of the same run;
// `promtool check metrics` passes on a scrape. Then the expiry of a pod that went away, and a
// missing, malformed or busy address.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, type AddressInfo} from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {PROMTOOL, ROOT, childrenOf, requirePromtool, hasFirstLine, killLeftovers, readRecords, requireTracing, runCli, waitFor} from '../helpers/e2e.js'
import {cleanupAll, execInNsSandbox, nsLink, shInNsSandbox, startNsSandbox, stopNsSandbox} from '../helpers/sandboxes.js'
import {assertValidRecords} from '../helpers/schema.js'

type Rec = Record<string, any>

async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`)
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  return res.text()
}

/** The value of one series (labels in any order), or undefined. */
function value(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!m || m[1] !== name) continue
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]))
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3])
  }
  return undefined
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('e2e: record --metrics (Prometheus)', function () {
  this.timeout(180_000)
  let dir = ''
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-e2e-metrics-'))
  })
  after(async () => {
    killLeftovers()
    await cleanupAll()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('scraped values equal the trace file\'s: dropped SIGTERMs, the zombie gauge, reaps; a flood scraped every 20 ms loses nothing; promtool accepts it', async function () {
    requireTracing(this)
    requirePromtool(this)
    const sb = await startNsSandbox({sharePid: false})
    const app = await execInNsSandbox(sb, ['sleep', '1000'], {pidNs: 'own'})
    const keeper = await shInNsSandbox(sb, 'sleep 1002 & exec sleep 1001', {pidNs: 'own'})
    let child = 0
    await waitFor(() => (child = childrenOf(keeper.pid)[0] ?? 0) > 0, 10_000, 'the keeper\'s child')
    const id = `netns:${/\[(\d+)\]/.exec(nsLink(sb.pausePid, 'net'))?.[1]}`
    const pod = {namespace: '', pod: id}
    const out = path.join(dir, 'metrics.jsonl')
    const port = await freePort()
    const run = runCli(['record', '-o', out, '--sandbox', id, '--metrics', `127.0.0.1:${port}`])
    let text = ''
    try {
      await waitFor(() => hasFirstLine(out), 60_000, 'the trace header')
      assert.match(run.stderr(), new RegExp(`^pausetrace: metrics at http://127\\.0\\.0\\.1:${port}/metrics$`, 'm'))
      for (let i = 0; i < 3; i++) {
        process.kill(app.pid, 'SIGTERM')
        await sleep(100)
      }
      process.kill(child, 'SIGKILL') // its parent, sleep as PID 1, never waits: a zombie
      for (let i = 0; i < 100; i++) {
        text = await scrape(port)
        if (value(text, 'pausetrace_zombies', pod) === 1 && value(text, 'pausetrace_sigterm_dropped_pid1_total', {...pod, container: ''}) === 3) break
        await sleep(100)
      }
      assert.equal(value(text, 'pausetrace_sigterm_dropped_pid1_total', {...pod, container: ''}), 3, text)
      assert.equal(value(text, 'pausetrace_signals_total', {...pod, signal: 'SIGTERM', result: 'ignored'}), 3)
      assert.equal(value(text, 'pausetrace_zombies', pod), 1)
      assert.ok((value(text, 'pausetrace_oldest_zombie_age_seconds', pod) ?? -1) >= 0)
      assert.equal(value(text, 'pausetrace_probes_attached', {}) !== undefined, true)
      // promtool's own check of the exposition format and the naming conventions
      execFileSync(PROMTOOL, ['check', 'metrics'], {input: text, stdio: ['pipe', 'pipe', 'pipe']})

      // the flood, scraped every 20 ms meanwhile
      let scraping = true
      const scrapes = (async () => {
        let n = 0
        while (scraping) {
          await scrape(port)
          n++
          await sleep(20)
        }
        return n
      })()
      execFileSync('perl', ['-e', `kill 'WINCH', ${app.pid} for 1..20000`])
      await sleep(1500)
      scraping = false
      assert.ok((await scrapes) > 10)
      process.kill(app.pid, 'SIGKILL')
      await app.exited
      await sleep(1000)
      text = await scrape(port)
    } finally {
      run.child.kill('SIGINT')
      assert.equal((await run.exited).code, 0, run.stderr())
      await stopNsSandbox(sb)
    }
    const records = readRecords(out)
    assertValidRecords(records)
    const footer = records.at(-1) as Rec
    assert.deepEqual([footer.type, footer.lost], ['footer', 0], 'nothing lost while scraped mid-flood')
    const events = records.filter((r) => r.type === 'event')
    const ofPod = (p: Rec | undefined): boolean => p?.sandbox === id
    // every value against the file
    const winch = events.filter((e) => e.kind === 'signal' && e.sig === 28 && e.to?.pid === app.pid)
    const flooded = events.filter((e) => e.kind === 'flood' && e.sig === 28 && e.of === 'signal').reduce((n, e) => n + e.count, 0)
    assert.equal(winch.length + flooded, 20000, 'every SIGWINCH accounted for in the file')
    assert.equal(value(text, 'pausetrace_signals_total', {...pod, signal: 'SIGWINCH', result: 'ignored'}), winch.length)
    assert.equal(value(text, 'pausetrace_flood_signals_total', {...pod, signal: 'SIGWINCH'}), flooded + events.filter((e) => e.kind === 'flood' && e.sig === 28 && e.of === 'deliver').reduce((n, e) => n + e.count, 0))
    const terms = events.filter((e) => e.kind === 'signal' && e.sig === 15 && ofPod(e.to) && e.result === 'ignored' && e.to.innerPid === 1)
    assert.equal(terms.length, 3)
    const exited = new Set(events.filter((e) => e.kind === 'exit' && e.groupDead && ofPod(e.proc)).map((e) => e.proc.pid))
    const reaps = events.filter((e) => e.kind === 'reap' && exited.has(e.child.pid))
    assert.ok(reaps.some((e) => e.child.pid === app.pid), 'the sleep\'s reap')
    assert.equal(value(text, 'pausetrace_reap_latency_seconds_count', pod), reaps.length)
    assert.equal(value(text, 'pausetrace_events_total', {kind: 'signal'}), events.filter((e) => e.kind === 'signal').length)
  })

  it('the example alert rules of docs/metrics.md pass promtool check rules', function () {
    requirePromtool(this)
    const doc = readFileSync(path.join(ROOT, 'docs/metrics.md'), 'utf8')
    const rules = /```yaml\n(groups:[\s\S]*?)```/.exec(doc)?.[1]
    assert.ok(rules, 'an alert rules block in docs/metrics.md')
    const file = path.join(dir, 'rules.yml')
    writeFileSync(file, rules)
    const out = execFileSync(PROMTOOL, ['check', 'rules', file]).toString()
    assert.match(out, /SUCCESS: 5 rules found/)
  })

  it('a pod that went away loses its series after --metrics-expiry', async function () {
    requireTracing(this)
    const sb = await startNsSandbox({sharePid: true})
    const id = `netns:${/\[(\d+)\]/.exec(nsLink(sb.pausePid, 'net'))?.[1]}`
    const out = path.join(dir, 'expiry.jsonl')
    const port = await freePort()
    const run = runCli(['record', '-o', out, '--sandbox', id, '--metrics', String(port), '--metrics-expiry', '2s'])
    try {
      await waitFor(() => hasFirstLine(out), 60_000, 'the trace header')
      process.kill(sb.pausePid, 'SIGHUP') // dropped: the pod has a series
      let text = ''
      for (let i = 0; i < 50 && value(text, 'pausetrace_signals_total', {pod: id, signal: 'SIGHUP'}) === undefined; i++) {
        await sleep(100)
        text = await scrape(port)
      }
      assert.equal(value(text, 'pausetrace_signals_total', {namespace: '', pod: id, signal: 'SIGHUP', result: 'ignored'}), 1)
      process.kill(sb.pausePid, 'SIGTERM') // the pause exits: the pod is gone
      await sb.exited
      for (let i = 0; i < 50 && value(text, 'pausetrace_infra_deaths_total', {pod: id}) === undefined; i++) {
        await sleep(100)
        text = await scrape(port)
      }
      assert.equal(value(text, 'pausetrace_infra_deaths_total', {namespace: '', pod: id}), 1)
      await sleep(2600)
      text = await scrape(port)
      assert.equal(text.includes(`pod="${id}"`), false, 'no series of the pod after the expiry')
    } finally {
      run.child.kill('SIGINT')
      assert.equal((await run.exited).code, 0, run.stderr())
      await stopNsSandbox(sb)
    }
  })

  it('--metrics without an address, a malformed one, a busy port: one sentence, exit 2 or 3, no file left', async function () {
    requireTracing(this)
    const busy = createServer()
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r))
    const port = (busy.address() as AddressInfo).port
    try {
      const cases: Array<[string[], number, RegExp]> = [
        [['--metrics'], 2, /^pausetrace: Flag --metrics expects a value/],
        [['--metrics', 'localhost:http'], 2, /^pausetrace: --metrics "localhost:http" is not an address to listen on: "http" is not a port/],
        [['--metrics', '1.2.3.4.5:9479'], 2, /^pausetrace: --metrics "1\.2\.3\.4\.5:9479" is not an address to listen on: "1\.2\.3\.4\.5" is not a host/],
        [['--metrics', '9479', '--metrics-expiry', 'soon'], 2, /^pausetrace: --metrics-expiry "soon" is not a duration/],
        [['--metrics', String(port)], 3, new RegExp(`^pausetrace: cannot serve metrics on 127\\.0\\.0\\.1:${port}: the address is in use`)],
      ]
      for (const [args, code, message] of cases) {
        const out = path.join(dir, 'bad.jsonl')
        const r = runCli(['record', '-o', out, ...args])
        const exit = await r.exited
        assert.equal(exit.code, code, `${args.join(' ')}: ${r.stderr()}`)
        assert.match(r.stderr(), /^pausetrace: [^\n]+\n$/, r.stderr())
        assert.match(r.stderr(), message)
        assert.equal(existsSync(out), false, `${args.join(' ')} left ${out}`)
      }
    } finally {
      await new Promise<void>((r) => busy.close(() => r()))
    }
  })
})

describe('e2e: lab --metrics (Prometheus during a lab exercise)', function () {
  this.timeout(180_000)

  it('pid1-ignores-sigterm: the scraped SIGTERMs dropped by PID 1 and signal counts equal the exercise\'s trace', async function () {
    requireTracing(this)
    const port = await freePort()
    const run = runCli(['lab', 'pid1-ignores-sigterm', '--json', '--metrics', `127.0.0.1:${port}`])
    // scrape every 100 ms while the exercise runs; the last scrape before the trace stops holds it all
    let last = ''
    let scrapes = 0
    const done = run.exited
    let finished = false
    void done.then(() => (finished = true))
    while (!finished) {
      try {
        const text = await scrape(port)
        scrapes++
        // the trace stops at the end of the exercise: keep the scrapes made while it ran
        if (!run.stdout().includes('"type":"footer"')) last = text
      } catch {
        // not listening yet, or closed at the end
      }
      await sleep(100)
    }
    const {code} = await done
    assert.equal(code, 0, run.stderr())
    assert.ok(scrapes > 5, `${scrapes} scrapes`)
    const recs = run.stdout().trim().split('\n').map((l) => JSON.parse(l) as Rec)
    assert.ok(recs.some((r) => r.type === 'lab' && r.kind === 'say' && String(r.text).includes(`http://127.0.0.1:${port}/metrics`)))
    const events = recs.filter((r) => r.type === 'event')
    const sb = recs.find((r) => r.type === 'lab' && r.kind === 'sandbox') as Rec
    const pod = {namespace: '', pod: sb.sandboxId as string}
    const dropped = events.filter((e) => e.kind === 'signal' && e.sig === 15 && e.result === 'ignored' && e.to?.innerPid === 1 && e.to?.sandbox === sb.sandboxId && e.via !== 'kernel')
    assert.equal(dropped.length, 2, 'from the host and from inside')
    assert.equal(value(last, 'pausetrace_sigterm_dropped_pid1_total', {...pod, container: ''}), dropped.length, last)
    assert.equal(value(last, 'pausetrace_signals_total', {...pod, container: '', signal: 'SIGTERM', result: 'ignored'}), dropped.length)
    const kills = events.filter((e) => e.kind === 'signal' && e.sig === 9 && e.to?.sandbox === sb.sandboxId && e.result === 'delivered')
    // the SIGKILL comes in the last step: counted when the last scrape came after it
    const killed = value(last, 'pausetrace_signals_total', {...pod, container: '', signal: 'SIGKILL', result: 'delivered'})
    assert.ok(killed === undefined || killed === kills.length, `${killed} vs ${kills.length}`)
  })
})
