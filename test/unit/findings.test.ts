// The findings engine (src/findings/) on trace files recorded from real runs (test/fixtures/traces,
// and test/fixtures/traces/findings for the ones made for it: their README says how to re-record).
// Each finding is asserted exactly: kind, severity, sandbox, span, the evidence's times, the sentence.
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {PassThrough} from 'node:stream'
import {fixturePath} from '../helpers/fixtures.js'
import {recordsOf} from '../helpers/traces.js'
import {assertValidRecords} from '../helpers/schema.js'
import {FINDING_KINDS, FindingsEngine} from '../../src/findings/engine.js'
import {compareFindings, findingLine, formatFinding} from '../../src/findings/format.js'
import {duration} from '../../src/findings/words.js'
import {runKey} from '../../src/findings/flood.js'
import {explainTraces} from '../../src/replay/explain.js'
import {NO_FILTERS} from '../../src/replay/filter.js'
import type {FindingRecord} from '../../src/events/types.js'
import type {Filters} from '../../src/events/filter.js'

/** The findings of a file, fed as explain feeds them (time order of the engine, then sorted). */
function findingsOf(rel: string): FindingRecord[] {
  const out: FindingRecord[] = []
  const engine = new FindingsEngine((f) => out.push(f.record))
  for (const r of recordsOf(rel)) engine.push(r)
  engine.finish()
  return out.sort(compareFindings)
}

const brief = (f: FindingRecord): unknown[] => [f.kind, f.severity, f.sandbox, f.t, f.until, f.evidence]

async function explain(files: string[], filters: Filters = NO_FILTERS, json = true): Promise<{out: string; findings: FindingRecord[]}> {
  const out = new PassThrough()
  const chunks: Buffer[] = []
  out.on('data', (c: Buffer) => chunks.push(c))
  const r = await explainTraces({files: files.map(fixturePath), filters, json, minSeverity: 'info', out, warn: () => undefined})
  return {out: Buffer.concat(chunks).toString(), findings: r.findings}
}

describe('findings on recorded traces', () => {
  it('sigterm-ignored.jsonl: the container\'s PID 1 dropped the host\'s SIGTERM (podman pod pt-sigterm)', () => {
    const f = findingsOf('traces/sigterm-ignored.jsonl')
    assert.deepEqual(f.map(brief), [['sigterm-ignored-by-pid1', 'warning', 'netns:4026532178', 332451653, 332451653, [332451653]]])
    assert.equal(f[0].summary, 'pt-sigterm: SIGTERM from node[32518] at +0.332452s was dropped by the kernel: sleep[803/1] is PID 1 of its namespace and has no handler for it, so it keeps running (a stop through the runtime waits out the grace period, then SIGKILLs it).')
    assert.deepEqual(f[0].pod, {name: 'pt-sigterm', namespace: null})
  })

  it('zombie.jsonl: a PID 1 that never waits keeps its child a zombie (the trace ends 3.88 s later)', () => {
    const f = findingsOf('traces/zombie.jsonl')
    assert.deepEqual(f.map(brief), [['zombies', 'warning', 'netns:4026532177', 326443690, 4204443690, [326349149, 326443690]]])
    assert.equal(f[0].summary, 'pt-zombie: 1 zombie under sleep[5322/1] (PID 1 of its namespace), the oldest 3.88 s (sleep[5334/7]); sleep[5322/1] never called wait for a child in this trace. Orphans it adopted as PID 1 would go to pause, which reaps them, with shareProcessNamespace: true; its own children only it can reap.')
  })

  it('flood.jsonl: 3000 SIGWINCH to the pause, counted exactly (64 written, 2936 in the kernel), and the pause ignoring it', () => {
    const f = findingsOf('traces/flood.jsonl')
    assert.deepEqual(f.map((x) => [x.kind, x.severity]), [['signal-flood', 'warning'], ['signal-to-pause-ignored', 'info']])
    assert.match(f[0].summary, /^netns:4026532181: SIGWINCH from node\[32518\] to pause\[11520\/1\]: 3000 in 0\.23 s from \+0\.326389s, about \d+ per second \(2936 counted in the kernel, 64 written one by one\)\.$/)
    assert.equal(f[1].advice, null, 'SIGWINCH is ignored by default: nothing to change')
  })

  it('ns-pause.jsonl: SIGHUP dropped by the pause; SIGTERM ends it and the kernel SIGKILLs the two living members', () => {
    const f = findingsOf('traces/ns-pause.jsonl')
    assert.deepEqual(f.map((x) => [x.kind, x.severity, x.t]), [['signal-to-pause-ignored', 'warning', 1619322027], ['pause-died', 'problem', 2215357455]])
    assert.equal(f[1].summary, 'netns:4026532336: its pause pause[30338/1] died at +2.215450s (exit 0) after SIGTERM from node[30271] at +2.215357s; the kernel then SIGKILLed 2 other processes of its PID namespace (sleep[30669/5], sleep[30670/6]): the pod went down with it.')
  })

  it('teardown.jsonl: the kernel\'s SIGKILLs to zombies are not counted as victims of the pause\'s death', () => {
    const f = findingsOf('traces/teardown.jsonl')
    assert.deepEqual(f.map((x) => [x.kind, x.evidence.length]), [['pause-died', 3]])
    assert.match(f[0].summary, /the kernel then SIGKILLed 1 other process of its PID namespace \(sleep\[25818\/2\]\)/)
  })

  it('benign traces give none: a pause that reaps its orphan (reap-by-pause.jsonl); a loss hides the zombies it may have reaped (lost.jsonl)', () => {
    assert.deepEqual(findingsOf('traces/reap-by-pause.jsonl').map((x) => x.kind), [])
    assert.deepEqual(findingsOf('traces/lost.jsonl').map((x) => x.kind), [])
  })

  it('every finding is a valid record; the same trace gives the same findings, in time order', () => {
    for (const name of ['sigterm-ignored', 'zombie', 'flood', 'ns-pause', 'teardown']) {
      const a = findingsOf(`traces/${name}.jsonl`)
      assertValidRecords(a)
      assert.deepEqual(findingsOf(`traces/${name}.jsonl`), a)
      assert.deepEqual(a.map((x) => x.t), [...a.map((x) => x.t)].sort((x, y) => x - y))
    }
  })
})

describe('findings on the traces recorded for them (test/fixtures/traces/findings)', () => {
  // [file, [[kind, severity, sandbox, pod, t, until, evidence count], …]]: every finding, exactly
  const cases: Array<[string, Array<[string, string, string, string | null, number, number, number]>]> = [
    ['crash-loop.jsonl', [['crash-loop', 'problem', 'netns:4026532178', 'shop/crashy-0', 5382806291, 16951407109, 3]]],
    ['grace-cri.jsonl', [['grace-period-exhausted', 'problem', 'netns:4026532178', 'pausetrace-lab/grace', 4926452160, 6507798581, 3], ['sigterm-ignored-by-pid1', 'warning', 'netns:4026532178', 'pausetrace-lab/grace', 4926452160, 4926452160, 1]]],
    ['grace-handled.jsonl', [['grace-period-exhausted', 'problem', 'netns:4026532182', null, 326544476, 2327977215, 3]]],
    ['grace-sigign.jsonl', [['grace-period-exhausted', 'problem', 'netns:4026532253', null, 315118239, 1816036884, 2]]],
    ['graceful.jsonl', []],
    ['kill-pause-cri.jsonl', [['pause-died', 'problem', 'netns:4026532178', 'pausetrace-lab/shared', 6934533438, 7434657406, 3], ['sandbox-recreated', 'warning', 'netns:4026532249', 'pausetrace-lab/shared', 6934657406, 10905050529, 1], ['pause-died', 'problem', 'netns:4026532256', 'pausetrace-lab/own', 7698594460, 8198703718, 2], ['sandbox-recreated', 'warning', 'netns:4026532325', 'pausetrace-lab/own', 7698703718, 10905050529, 1], ['grace-period-exhausted', 'problem', 'netns:4026532256', 'pausetrace-lab/own', 8712091279, 10719967790, 2], ['sigterm-ignored-by-pid1', 'warning', 'netns:4026532256', 'pausetrace-lab/own', 8712091279, 8712091279, 1]]],
    ['kill-pause-ns.jsonl', [['pause-died', 'problem', 'netns:4026532182', null, 568867656, 1068980367, 3], ['pause-died', 'problem', 'netns:4026532256', null, 1375560581, 1875782994, 2]]],
    ['oom.jsonl', [['oom-kill', 'problem', 'netns:4026532178', 'pt-oom', 1427679169, 1427679169, 1]]],
    ['pid1-ns.jsonl', [['grace-period-exhausted', 'problem', 'netns:4026532182', null, 519863450, 2084462786, 3], ['sigterm-ignored-by-pid1', 'warning', 'netns:4026532182', null, 519863450, 519863450, 1]]],
    ['zombies-ns.jsonl', [['zombies', 'warning', 'netns:4026532182', null, 544934058, 5018411159, 2]]],
  ]
  for (const [file, want] of cases) {
    it(`${file}: ${want.length ? want.map((w) => w[0]).join(', ') : 'no finding (benign)'}`, () => {
      const got = findingsOf(`traces/findings/${file}`)
      assert.deepEqual(got.map((f) => [f.kind, f.severity, f.sandbox, f.pod ? `${f.pod.namespace ? `${f.pod.namespace}/` : ''}${f.pod.name}` : null, f.t, f.until, f.evidence.length]), want)
      assertValidRecords(got)
    })
  }

  const summary = (file: string, kind: string): string => findingsOf(`traces/findings/${file}`).find((f) => f.kind === kind)?.summary ?? ''

  it('grace-period-exhausted tells the three causes apart: dropped by the kernel, handled without exiting, ignored by the program', () => {
    assert.match(summary('pid1-ns.jsonl', 'grace-period-exhausted'), /^netns:\d+: SIGTERM from kill\[\d+\] at \+0\.519863s \(sent 2 times\) did not end sleep\[\d+\/1\] \(PID 1 in its namespace, no handler: the kernel dropped it\); SIGKILL from kill\[\d+\] came 1\.56 s later\.$/)
    assert.match(summary('grace-handled.jsonl', 'grace-period-exhausted'), /did not end sh\[\d+\/1\] \(its handler ran at \+0\.326633s, but the process did not exit\); SIGKILL from node\[\d+\] came 2\.00 s later\.$/)
    assert.match(summary('grace-sigign.jsonl', 'grace-period-exhausted'), /did not end sleep\[\d+\/2\] \(it ignores SIGTERM \(SIG_IGN, set by the program or inherited across exec\)\); SIGKILL from node\[\d+\] came 1\.50 s later\.$/)
  })

  it('the CRI runtime\'s stop: runc\'s SIGTERM dropped by the container\'s PID 1, runc\'s SIGKILL 2.01 s later; the sandboxes re-created with attempt 1', () => {
    assert.match(summary('kill-pause-cri.jsonl', 'grace-period-exhausted'), /^pausetrace-lab\/own container own-app: SIGTERM from runc\[\d+\] at \+8\.712091s did not end sleep\[\d+\/1\] \(PID 1 in its namespace, no handler: the kernel dropped it\); SIGKILL from runc\[\d+\] came 2\.01 s later\.$/)
    const re = findingsOf('traces/findings/kill-pause-cri.jsonl').filter((f) => f.kind === 'sandbox-recreated').map((f) => f.summary)
    assert.deepEqual(re, [
      'pausetrace-lab/shared: a new sandbox (attempt 1) netns:4026532249 replaces netns:4026532178, 3.97 s after its pause pause[25587/1] ended (exit 0); the pod\'s containers start again in it.',
      'pausetrace-lab/own: a new sandbox (attempt 1) netns:4026532325 replaces netns:4026532256, 3.21 s after its pause pause[25712/1] ended (exit 0); the pod\'s containers start again in it.',
    ])
    assert.match(summary('kill-pause-cri.jsonl', 'pause-died'), /the kernel then SIGKILLed 1 other process of its PID namespace \(sleep\[25655\/6\]\): the pod went down with it\.$/)
  })

  it('oom-kill: the memory cgroup\'s SIGKILL, sent from the victim itself (si_code SI_KERNEL); crash-loop: code 3 again and again', () => {
    assert.equal(summary('oom.jsonl', 'oom-kill'), 'pt-oom: the kernel\'s OOM killer SIGKILLed dd[26861/7] at +1.427679s while it allocated memory: the container (or the node) ran out of memory.')
    assert.equal(summary('crash-loop.jsonl', 'crash-loop'), 'shop/crashy-0 container app: sh exited 3 times in 12 s (every 5.78 s on average, the last sh[27265/1] at +16.951407s), each time with code 3.')
  })

  it('zombies: orphans adopted by a PID 1 that never reaps them, and what a shared PID namespace would change', () => {
    assert.match(summary('zombies-ns.jsonl', 'zombies'), /1 zombie under sleep\[\d+\/1\] \(PID 1 of its namespace\), the oldest 4\.47 s \(sh\[\d+\/3\]\); .* They are orphans it adopted as PID 1: with shareProcessNamespace: true the pod's pause would have adopted and reaped them\.$/)
  })
})

describe('signal-flood: the key of a (sender, target, signal) run', () => {
  it('one number per run, none shared: signals vs deliveries, sender vs target, the largest PIDs and signals; a string outside those ranges', () => {
    const max = 2 ** 22 - 1
    const keys = [runKey(false, 1, 2, 10), runKey(false, 2, 1, 10), runKey(true, 1, 2, 10), runKey(false, 1, 2, 12), runKey(false, max, max, 64), runKey(true, max, max, 64), runKey(false, 0, 0, 0), runKey(false, 1, 2, 0)]
    for (const k of keys) assert.equal(typeof k, 'number')
    assert.ok(keys.every((k) => Number.isSafeInteger(k)))
    assert.equal(new Set(keys).size, keys.length)
    assert.equal(runKey(false, 1, 2, 10), runKey(false, 1, 2, 10))
    assert.equal(runKey(false, -1, 2, 10), 'false\0-1\u00002\u000010')
    assert.equal(typeof runKey(true, 2 ** 22, 1, 1), 'string')
  })
})

describe('explain', () => {
  it('--json: one finding a line; merged files in time order', async () => {
    const {out, findings} = await explain(['traces/ns-pause.jsonl', 'traces/zombie.jsonl'])
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as FindingRecord)
    assert.deepEqual(lines, findings)
    assert.deepEqual(lines.map((l) => l.kind), ['zombies', 'signal-to-pause-ignored', 'pause-died'], 'zombie.jsonl was recorded first')
    assertValidRecords(lines)
  })

  it('several nodes: each finding names its host, and each node\'s sandboxes are its own', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-findings-'))
    try {
      // the same recording as if from two nodes, the second 10 s later
      const recs = recordsOf('traces/sigterm-ignored.jsonl') as Array<Record<string, any>>
      const shift = (r: Record<string, any>, host: string, ms: number): Record<string, any> => r.type === 'header' ? {...r, host, startedAt: new Date(Date.parse(r.startedAt) + ms).toISOString()} : r.ts ? {...r, ts: new Date(Date.parse(r.ts) + ms).toISOString()} : r
      const files = [['node-a', 0], ['node-b', 10_000]].map(([host, ms]) => {
        const f = path.join(dir, `${host}.jsonl`)
        writeFileSync(f, recs.map((r) => JSON.stringify(shift(r, host as string, ms as number))).join('\n') + '\n')
        return f
      })
      const out = new PassThrough()
      const chunks: Buffer[] = []
      out.on('data', (c: Buffer) => chunks.push(c))
      const r = await explainTraces({files: [...files].reverse(), filters: NO_FILTERS, json: true, minSeverity: 'info', out, warn: () => undefined})
      assert.deepEqual(r.findings.map((f) => [f.host, f.kind, f.sandbox, f.t]), [['node-a', 'sigterm-ignored-by-pid1', 'netns:4026532178', 332451653], ['node-b', 'sigterm-ignored-by-pid1', 'netns:4026532178', 332451653]])
      assertValidRecords(r.findings)
      assert.match(formatFinding(r.findings[1]), /^\+0\.332452s node-b warning sigterm-ignored-by-pid1\n/)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('filters choose findings by their events: --pid, --signal, --pod', async () => {
    const pid = await explain(['traces/ns-pause.jsonl'], {...NO_FILTERS, pids: [30669]})
    assert.deepEqual(pid.findings.map((f) => f.kind), ['pause-died'], 'a victim of the pause\'s death')
    const sig = await explain(['traces/ns-pause.jsonl'], {...NO_FILTERS, signals: [1]})
    assert.deepEqual(sig.findings.map((f) => f.kind), ['signal-to-pause-ignored'])
    const pod = await explain(['traces/ns-pause.jsonl', 'traces/zombie.jsonl'], {...NO_FILTERS, pods: ['pt-zombie']})
    assert.deepEqual(pod.findings.map((f) => f.kind), ['zombies'])
  })

  it('--pod keeps a dying CRI sandbox\'s findings though its last record lost the pod\'s name', async () => {
    const own = await explain(['traces/findings/kill-pause-cri.jsonl'], {...NO_FILTERS, pods: ['own']})
    assert.deepEqual(own.findings.map((f) => [f.kind, f.pod?.name]), [['pause-died', 'own'], ['sandbox-recreated', 'own'], ['grace-period-exhausted', 'own'], ['sigterm-ignored-by-pid1', 'own']])
  })

  it('text: time, severity, kind, the sentence and what to change', async () => {
    const {out} = await explain(['traces/sigterm-ignored.jsonl'], NO_FILTERS, false)
    assert.equal(out, `${formatFinding(findingsOf('traces/sigterm-ignored.jsonl')[0])}\n`)
    assert.match(out, /^\+0\.332452s warning sigterm-ignored-by-pid1\n {2}pt-sigterm: SIGTERM from node\[32518\] .*\n {2}→ handle SIGTERM in sleep, /)
    assert.match(findingLine(findingsOf('traces/sigterm-ignored.jsonl')[0]), /^\+0\.332452s finding {2}warning sigterm-ignored-by-pid1: pt-sigterm: SIGTERM from /)
  })

  it('every kind is documented in docs/findings.md, and is one the contract names', () => {
    const doc = readFileSync(fixturePath('../../docs/findings.md'), 'utf8')
    const documented = [...doc.matchAll(/^\| `([a-z0-9-]+)` \| (problem|warning)/gm)].map((m) => m[1])
    assert.deepEqual(documented, [...FINDING_KINDS])
  })

  it('durations read at a glance', () => {
    assert.deepEqual([3.01e9, 42e9, 150e9, 3 * 3600e9].map(duration), ['3.01 s', '42 s', '2.5 min', '3.0 h'])
  })
})
