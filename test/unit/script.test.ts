import assert from 'node:assert/strict'
import {buildScript, MAX_SEED} from '../../src/probe/script.js'
import {onlineCpus, parseCpuList} from '../../src/proc/read.js'
import {parseVersion, usesArgsDot, hasRawTracepoints, kernelHasPidFlexArray, bpftraceEnv, perCpuPages} from '../../src/probe/bpftrace.js'
import {parseFilters} from '../../src/flags.js'
import {UsageError} from '../../src/errors.js'

const variants = [
  {argsDot: false, pidFlexArray: true, scope: {kind: 'all' as const}},
  {argsDot: true, pidFlexArray: false, rawSignalGenerate: true, scope: {kind: 'sandboxes' as const, seed: [10, 11]}},
  {argsDot: true, pidFlexArray: true, scope: {kind: 'pids' as const, pids: [42, 43]}, signals: [15, 9]},
]

describe('the bpftrace program', () => {
  it('fills every placeholder, in every variant', () => {
    for (const v of variants) {
      const text = buildScript(v)
      assert.deepEqual(text.match(/@[A-Z][A-Z_]*/g), null, JSON.stringify(v))
      assert.ok(!text.includes('@A'), 'no args placeholder left')
    }
  })

  it('uses args-> for bpftrace < 0.19 and args. after', () => {
    assert.match(buildScript(variants[0]), /args->sig/)
    assert.doesNotMatch(buildScript(variants[0]), /args\.sig/)
    assert.match(buildScript(variants[2]), /args\.sig/)
  })

  it('puts the filters in the kernel as numbers', () => {
    const pids = buildScript(variants[2])
    assert.match(pids, /\(pid == 42 \|\| pid == 43\)/)
    assert.match(pids, /\(args\.sig == 15 \|\| args\.sig == 9\)/)
    const sbx = buildScript(variants[1])
    assert.match(sbx, /\nBEGIN\n\{[^}]*@sbx\[10\] = 1; @sbx\[11\] = 1;/)
    assert.match(sbx, /rawtracepoint:signal_generate/)
    assert.match(sbx, /numbers|sizeof\(struct pid\) - sizeof\(struct upid\)/)
    assert.doesNotMatch(buildScript(variants[0]), /@sbx\[/)
  })

  it('refuses anything but small whole numbers in the program text', () => {
    for (const bad of [[-1], [1.5], [Number.NaN], [4_194_305]]) {
      assert.throws(() => buildScript({argsDot: true, pidFlexArray: true, scope: {kind: 'pids', pids: bad}}), RangeError)
    }
    assert.throws(() => buildScript({argsDot: true, pidFlexArray: true, scope: {kind: 'all'}, signals: [65]}), RangeError)
    const many = Array.from({length: MAX_SEED + 5}, (_, i) => i + 1)
    const text = buildScript({argsDot: true, pidFlexArray: true, scope: {kind: 'sandboxes', seed: many}})
    // at most MAX_SEED tasks are seeded; the rest are learned as they act
    assert.equal(text.match(/@sbx\[\d+\] = 1;/g)?.length, MAX_SEED)
  })

  it('never lets pod names or other user text reach the program', () => {
    const f = parseFilters({pod: ['web-0'], namespace: ['shop'], sandbox: ['netns:4026532177']})
    assert.deepEqual([f.pods, f.namespaces, f.sandboxes], [['web-0'], ['shop'], ['netns:4026532177']])
    for (const evil of ['x"); system("id', '$(id)', 'a b', '../etc', '']) assert.throws(() => parseFilters({pod: [evil]}), UsageError, evil)
    assert.throws(() => parseFilters({namespace: ['Shop']}), UsageError)
    assert.throws(() => parseFilters({sandbox: ['netns:12; exit()']}), UsageError)
  })
})

describe('bpftrace versions', () => {
  it('reads the versions bpftrace prints and picks the syntax and probes each supports', () => {
    assert.deepEqual(parseVersion('bpftrace v0.17.0'), {version: 'v0.17.0', major: 0, minor: 17})
    assert.deepEqual(parseVersion('bpftrace v0.20.2-1ubuntu4'), {version: 'v0.20.2', major: 0, minor: 20})
    assert.deepEqual(parseVersion('bpftrace v0.27.1'), {version: 'v0.27.1', major: 0, minor: 27})
    assert.equal(parseVersion('nothing here'), undefined)
    assert.deepEqual([0.17, 0.18, 0.19, 0.27].map((v) => usesArgsDot({major: 0, minor: Math.round((v % 1) * 100)})), [false, false, true, true])
    assert.deepEqual([17, 18, 23].map((minor) => hasRawTracepoints({major: 0, minor})), [false, true, true])
    assert.deepEqual(['5.15.0-91-generic', '6.1.0-18-amd64', '6.5.0', '6.18.44-fc-v669'].map(kernelHasPidFlexArray), [false, false, true, true])
  })

  it('sizes bpftrace 0.17\'s per-CPU buffers to 16 MiB in all, 1 to 8 MiB per CPU, a power of two', () => {
    assert.deepEqual([1, 2, 3, 4, 8, 16, 64, 256].map(perCpuPages), [2048, 2048, 1024, 1024, 512, 256, 256, 256])
    assert.equal(bpftraceEnv({major: 0, minor: 17}, {}, 2).BPFTRACE_PERF_RB_PAGES, '2048')
    assert.equal(bpftraceEnv({major: 0, minor: 20}, {}, 2).BPFTRACE_PERF_RB_PAGES, '2048')
    assert.equal(bpftraceEnv({major: 0, minor: 17}, {BPFTRACE_PERF_RB_PAGES: '64'}, 2).BPFTRACE_PERF_RB_PAGES, '64')
  })

  it('stashes only the signal syscalls that may concern the scope', () => {
    const sbx = buildScript({argsDot: true, pidFlexArray: false, rawSignalGenerate: true, scope: {kind: 'sandboxes', seed: [10, 11]}})
    // a host kill between host processes: the caller's scope, the target in @sbx, or a group
    assert.match(sbx, /sys_enter_kill\n\{[^]*?if \(\(\$in \|\| @sbx\[args\.pid\] \|\| args\.pid <= 0\) && @stop == 0\) \{\n\s*@sk\[tid\] = /)
    assert.match(sbx, /sys_enter_tgkill [^\n]*\n\{[^\n]*if \(\(\$in \|\| @sbx\[args\.tgid\] \|\| @sbx\[args\.pid\]\) && @stop == 0\)/)
    const all = buildScript({argsDot: false, pidFlexArray: true, scope: {kind: 'all'}})
    assert.doesNotMatch(all.slice(all.indexOf('sys_enter_kill\n'), all.indexOf('sys_enter_tkill')), /@sbx/)
  })

  it('has one program on the kill tracepoint: the stop request and the stash share it', () => {
    for (const v of variants) {
      const text = buildScript(v)
      assert.equal(text.match(/tracepoint:syscalls:sys_enter_kill\b/g)?.length, 1)
      assert.match(text, /sys_enter_kill\n\{\n\s*if \(pid == \$1\) \{\n\s*if \(\(int32\)args(->|\.)pid == \$1 && args(->|\.)sig == 0\)/)
    }
  })

  it('caches the default scope\'s verdict per task, keyed by TID and checked by start time', () => {
    const sbx = buildScript({argsDot: true, pidFlexArray: true, rawSignalGenerate: true, scope: {kind: 'sandboxes', seed: []}})
    // the actor: one lookup and one read, the namespaces read only on a miss
    assert.match(sbx, /\$ast = \(int64\)curtask->start_time; \$av = @v\[tid\]; if \(\(\$av >> 1\) != \$ast\) \{/)
    // the target of a signal (raw form): the same cache, under the target's TID
    assert.match(sbx, /\$tt = \(\(struct task_struct \*\)arg2\); \$tst = \(int64\)\$tt->start_time; \$tv = @v\[\$tt->pid\];/)
    // forgotten at exit and when the namespaces change
    assert.match(sbx, /sched_process_exit \/pid != \$1\/\n\{\n\s*delete\(@v\[tid\]\);/)
    assert.match(sbx, /tracepoint:syscalls:sys_exit_setns, tracepoint:syscalls:sys_exit_unshare \{ delete\(@v\[tid\]\); \}/)
    // the deliveries in the raw form on 0.18+, the tracepoint on 0.17
    assert.match(sbx, /rawtracepoint:signal_deliver /)
    const old = buildScript({argsDot: false, pidFlexArray: true, scope: {kind: 'sandboxes', seed: []}})
    assert.match(old, /tracepoint:signal:signal_deliver /)
    assert.doesNotMatch(old, /\$tt = /)
    // other scopes have no cache
    for (const v of [variants[0], variants[2]]) assert.doesNotMatch(buildScript(v), /@v\[|sys_exit_setns/)
  })

  it('heartbeats: every printed line marks its CPU\'s latest time; the H line only when an online CPU printed since the last, and once more on the tick after', () => {
    const text = buildScript({argsDot: true, pidFlexArray: true, scope: {kind: 'all'}, cpus: [0, 1, 3]})
    // one mark per printf of an event line (S G D E W W F X), each after its @n count, with the time the line printed
    assert.equal(text.match(/@lp\[cpu\] = \$now % 1000000000000000;/g)?.length, 8)
    for (const block of text.split(/\n(?=tracepoint|rawtracepoint|interval|BEGIN|END)/)) {
      const printed = /printf\("([SGDEWFX]) %llu[^"]*", (\S+),/.exec(block)
      if (printed) assert.equal(printed[2], '$now', `${printed[1]} prints the time it marks`)
    }
    assert.match(text, /\$s = \(uint64\)@lp\[0\] \+ \(uint64\)@lp\[1\] \+ \(uint64\)@lp\[3\];\n  if \(\$s != @ls \|\| @hx\) \{\n    @hx = \$s != @ls;/)
    assert.match(buildScript({argsDot: true, pidFlexArray: true, scope: {kind: 'all'}}), /\$s = @ls \+ 1;/)
    assert.throws(() => buildScript({argsDot: true, pidFlexArray: true, scope: {kind: 'all'}, cpus: [9000]}), RangeError)
  })

  it('reads the kernel\'s CPU lists', () => {
    assert.deepEqual(parseCpuList('0-1\n'), [0, 1])
    assert.deepEqual(parseCpuList('0-3,8,10-11'), [0, 1, 2, 3, 8, 10, 11])
    assert.deepEqual(parseCpuList('0'), [0])
    assert.deepEqual(parseCpuList('garbage'), [])
    assert.deepEqual(parseCpuList('3-1'), [])
    assert.ok(onlineCpus().length >= 1)
  })
})
