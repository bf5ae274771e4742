// End to end: grouping that must hold on a real node, on a private containerd driven like a
// kubelet: two hostNetwork pods at once, a hostNetwork pod's container stopped under `record`, two
// pods of one name in two namespaces, and a sandbox stopped and re-created with attempt 1
// (`replaces`, seen through a `record` across it: `pods` cannot see a removed sandbox).
// Every pod is removed by the test that made it, and containerd with all it made at the end.
import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {killLeftovers, readRecords, requireTracing, runCli, waitFor} from '../helpers/e2e.js'
import {requireContainerd} from '../helpers/containerd.js'
import {assertValidRecords} from '../helpers/schema.js'
import {PrivateContainerd} from '../../src/lab/containerd.js'
import {removeContainer, removePod, runContainer, runPod, type PodSpec, type RunningPod} from '../../src/lab/cri-pods.js'

type Rec = Record<string, any>

describe('e2e: sandbox grouping on a real CRI runtime (private containerd)', function () {
  this.timeout(300_000)
  let cd: PrivateContainerd | undefined
  let dir: string | undefined

  before(async function () {
    requireContainerd(this)
    cd = await PrivateContainerd.start()
    dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-e2e-crig-'))
  })

  after(async () => {
    killLeftovers()
    if (dir) rmSync(dir, {recursive: true, force: true})
    if (cd) {
      const left = await cd.cleanup()
      assert.deepEqual(left.map((l) => l.why), [], 'the private containerd left nothing')
      assert.equal(existsSync(cd.dir), false)
    }
  })

  const spec = (name: string, namespace: string, uid: string, more: Partial<PodSpec> = {}): PodSpec => ({name, namespace, uid, cgroupParent: (cd as PrivateContainerd).names.cgroupParent, ...more})

  /** Runs pods, hands them to `body`, and removes them whatever happens (each one made is noted first). */
  async function withPods(specs: PodSpec[], body: (pods: RunningPod[]) => Promise<void>): Promise<void> {
    const c = cd as PrivateContainerd
    const pods: RunningPod[] = []
    try {
      for (const s of specs) pods.push(await runPod(c.cri, s))
      c.noteShims()
      await body(pods)
    } finally {
      for (const p of pods) await removePod(c.cri, p).catch(() => undefined)
    }
  }

  async function podsJson(): Promise<Rec[]> {
    const run = runCli(['pods', '--json', '--cri-socket', (cd as PrivateContainerd).socket])
    assert.equal((await run.exited).code, 0, run.stderr())
    return JSON.parse(run.stdout()) as Rec[]
  }

  it('two hostNetwork pods at once: two sandboxes with ids of their own, hostNetwork true, each with its pause and container', async () => {
    const specs = [spec('agent', 'kube-system', 'b0000000-0000-4000-8000-00000000000a', {hostNetwork: true}), spec('agent', 'monitoring', 'b0000000-0000-4000-8000-00000000000b', {hostNetwork: true})]
    await withPods(specs, async (pods) => {
      const ctrs = [await runContainer((cd as PrivateContainerd).cri, pods[0], 'main', ['sleep', '3600']), await runContainer((cd as PrivateContainerd).cri, pods[1], 'main', ['sleep', '3600'])]
      ;(cd as PrivateContainerd).noteShims()
      const views = await podsJson()
      const got = specs.map((s) => views.filter((v) => v.pod?.uid === s.uid).map((v) => [v.id, v.runtime, v.pod, v.hostNetwork, v.pausePid, v.replaces, (v.processes as Rec[]).map((p) => [p.pid, p.role, p.container ?? null])]))
      assert.deepEqual(got, pods.map((p, i) => [[
        `ipcns:${nsOf(p.pausePid, 'ipc')}`, 'containerd', {name: 'agent', namespace: specs[i].namespace, uid: specs[i].uid, attempt: 0}, true, p.pausePid, null,
        [[p.pausePid, 'pause', null], [ctrs[i].pid, 'container', 'main']].sort((a, b) => (a[0] as number) - (b[0] as number)),
      ]]))
      assert.notEqual(got[0][0][0], got[1][0][0], 'the two ids differ')
      // the host's net namespace is neither pod's id
      assert.equal(views.some((v) => v.id === `netns:${nsOf('self', 'net')}`), false)
    })
  })

  it('a hostNetwork pod traced live: the runtime\'s SIGTERM and SIGKILL to its container, and the container\'s death, are the pod\'s (ipcns id)', async function () {
    requireTracing(this)
    const c = cd as PrivateContainerd
    const out = path.join(dir as string, 'hostnet.jsonl')
    const s = spec('probe', 'kube-system', 'b0000000-0000-4000-8000-00000000000c', {hostNetwork: true})
    let id = ''
    let ctrPid = 0
    await withPods([s], async ([pod]) => {
      id = `ipcns:${nsOf(pod.pausePid, 'ipc')}`
      // the socket by flag here (the re-created sandbox's test gives it by environment)
      const run = runCli(['record', '-o', out, '--cri-socket', c.socket])
      await waitFor(() => existsSync(out) && readFileSync(out, 'utf8').includes('\n'), 60_000, 'the trace header')
      const ctr = await runContainer(c.cri, pod, 'main', ['sleep', '3600'])
      ctrPid = ctr.pid
      c.noteShims()
      await waitFor(() => readFileSync(out, 'utf8').split('\n').some((l) => l.startsWith('{"type":"sandbox"') && l.includes(s.uid)), 60_000, 'the pod named in the trace')
      // The container started after the trace's first look: pausetrace names it once it has looked
      // again and the runtime has answered. A SIGWINCH (ignored by default) asks until an event says so.
      await waitFor(() => {
        process.kill(ctr.pid, 'SIGWINCH')
        // complete lines only: the file is being written
        return readFileSync(out, 'utf8').split('\n').slice(0, -1).map((l) => JSON.parse(l) as Rec).some((r) => r.type === 'event' && r.kind === 'signal' && r.to?.pid === ctr.pid && r.to?.container === 'main')
      }, 30_000, 'the container named in an event')
      // sleep as PID 1 has no SIGTERM handler: the runtime's SIGTERM is ignored, SIGKILL follows after 1 s
      await removeContainer(c.cri, ctr, 1)
      run.child.kill('SIGINT')
      assert.equal((await run.exited).code, 0, run.stderr())
    })
    const records = readRecords(out)
    assertValidRecords(records)
    const sb = records.filter((r) => r.type === 'sandbox' && r.id === id).at(-1) as Rec
    assert.deepEqual([sb.runtime, sb.pod, sb.hostNetwork, sb.replaces], ['containerd', {name: 'probe', namespace: 'kube-system', uid: s.uid, attempt: 0}, true, null])
    assert.equal(records.some((r) => r.type === 'sandbox' && r.id === `netns:${nsOf('self', 'net')}`), false, 'no sandbox under the host\'s net namespace')
    const events = records.filter((r) => r.type === 'event')
    const stops = events.filter((e) => e.kind === 'signal' && e.to?.pid === ctrPid && (e.sig === 15 || e.sig === 9))
    assert.deepEqual(stops.map((e) => [e.signame, e.result, e.to.sandbox, e.to.role, e.to.innerPid, e.to.container]), [['SIGTERM', 'ignored', id, 'container', 1, 'main'], ['SIGKILL', 'delivered', id, 'container', 1, 'main']])
    // sent by runc, the runtime's own process (marked), to the container's (not marked)
    assert.deepEqual(stops.map((e) => [e.from.comm, e.from.runtime, e.to.runtime]), [['runc', true, undefined], ['runc', true, undefined]])
    assert.deepEqual(events.filter((e) => e.kind === 'exit' && e.proc.pid === ctrPid && e.groupDead).map((e) => [e.signal, e.proc.comm, e.proc.sandbox, e.proc.role, e.proc.container]), [[9, 'sleep', id, 'container', 'main']])
    // a person reads the pod and the container, not the sandbox id
    const text = runCli(['replay', out, '--text', '--signal', 'TERM'])
    assert.equal((await text.exited).code, 0, text.stderr())
    assert.match(text.stdout(), new RegExp(`^\\+\\d+\\.\\d{6}s signal   SIGTERM runc\\[\\d+\\] → sleep\\[${ctrPid}/1\\] @kube-system/probe \\(container main\\) via kill: ignored$`, 'm'))
  })

  it('two pods of one name in two namespaces: two sandboxes, each named namespace/name exactly', async () => {
    const specs = [spec('web-0', 'shop', 'c0000000-0000-4000-8000-00000000000a'), spec('web-0', 'blog', 'c0000000-0000-4000-8000-00000000000b')]
    await withPods(specs, async (pods) => {
      const views = await podsJson()
      const mine = views.filter((v) => specs.some((s) => s.uid === v.pod?.uid))
      assert.deepEqual(mine.map((v) => [v.id, v.pod, v.pausePid, v.hostNetwork]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
        pods.map((p) => [`netns:${nsOf(p.pausePid, 'net')}`, {name: 'web-0', namespace: p.spec.namespace, uid: p.spec.uid, attempt: 0}, p.pausePid, false]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))))
      const run = runCli(['pods', '--cri-socket', (cd as PrivateContainerd).socket])
      assert.equal((await run.exited).code, 0, run.stderr())
      const heads = run.stdout().split('\n').filter((l) => /^\S+\/web-0  \[/.test(l)).map((l) => l.slice(0, l.indexOf('  [')))
      assert.deepEqual(heads.sort(), ['blog/web-0', 'shop/web-0'])
    })
  })

  it('a sandbox stopped and re-created with attempt 1: record shows the new one with pod.attempt 1 and replaces = the first one\'s id', async function () {
    requireTracing(this)
    const c = cd as PrivateContainerd
    const out = path.join(dir as string, 'recreate.jsonl')
    const first = spec('api-0', 'shop', 'd0000000-0000-4000-8000-00000000000a')
    const made: RunningPod[] = []
    const run = runCli(['record', '-o', out], {env: {PAUSETRACE_CRI_SOCKET: c.socket}})
    try {
      made.push(await runPod(c.cri, first))
      await runContainer(c.cri, made[0], 'app', ['sleep', '3600'])
      c.noteShims()
      const sandboxes = (): Rec[] => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter((l) => l.startsWith('{"type":"sandbox"')).map((l) => JSON.parse(l) as Rec) : [])
      const named = (attempt: number) => (): boolean => sandboxes().some((r) => r.pod?.uid === first.uid && r.pod?.attempt === attempt && r.pausePid !== null)
      await waitFor(named(0), 60_000, 'the first sandbox named in the trace')
      // as a kubelet does when a sandbox died: stop and remove it, run the pod again with attempt 1
      await removePod(c.cri, made[0])
      made.push(await runPod(c.cri, {...first, attempt: 1}))
      await runContainer(c.cri, made[1], 'app', ['sleep', '3600'])
      c.noteShims()
      await waitFor(named(1), 60_000, 'the re-created sandbox named in the trace')
      run.child.kill('SIGINT')
      assert.equal((await run.exited).code, 0, run.stderr())
    } finally {
      for (const p of made) await removePod(c.cri, p).catch(() => undefined)
    }
    const records = readRecords(out)
    assertValidRecords(records)
    const last = (pausePid: number): Rec | undefined => records.filter((r) => r.type === 'sandbox' && r.pausePid === pausePid).at(-1)
    const a = last(made[0].pausePid)
    const b = last(made[1].pausePid)
    assert.ok(a && b, 'both sandboxes are in the trace')
    const netns = (r: Rec): string => `netns:${r.ns.net}`
    assert.deepEqual([a.id, a.runtime, a.pod, a.replaces, a.hostNetwork], [netns(a), 'containerd', {name: 'api-0', namespace: 'shop', uid: first.uid, attempt: 0}, null, false])
    // the kernel may give the new sandbox its predecessor's freed net namespace inode: then its id is `~2`
    const bId = b.ns.net === a.ns.net ? `${netns(b)}~2` : netns(b)
    assert.deepEqual([b.id, b.runtime, b.pod, b.replaces, b.hostNetwork], [bId, 'containerd', {name: 'api-0', namespace: 'shop', uid: first.uid, attempt: 1}, a.id, false])
    assert.notEqual(a.id, b.id)
  })
})

/** A namespace's inode, from its /proc link ("ipc:[4026532177]"). */
function nsOf(pid: number | 'self', type: 'ipc' | 'net'): number {
  return Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/${type}`))?.[1])
}
