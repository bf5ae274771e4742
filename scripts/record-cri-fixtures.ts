// Records real CRI answers (raw protobuf bytes) from a private containerd into
// test/fixtures/cri-grpc/, with what /proc said at the same moment (expected.json), so that the
// unit tests decode and read them without a socket. Run as root: sudo npx tsx scripts/record-cri-fixtures.ts
import {execFileSync} from 'node:child_process'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {PrivateContainerd} from '../src/lab/containerd.js'
import {removeContainer, runContainer, runPod, type PodSpec} from '../src/lab/cri-pods.js'
import {listPids, readComm, readStatus, statusNumbers} from '../src/proc/read.js'

const OUT = fileURLToPath(new URL('../test/fixtures/cri-grpc/', import.meta.url))

/** The host PID of the process that /proc shows as PID 1 in the cgroup `<parent>/<id>` (the pause of a sandbox). */
function pid1InCgroup(parent: string, id: string): number | null {
  for (const pid of listPids()) {
    const cg = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
    const status = readStatus(pid)
    if (cg.includes(`${parent}/${id}\n`) && status && statusNumbers(status, 'NSpid', pid).at(-1) === 1) return pid
  }
  return null
}

const ac = new AbortController()
process.once('SIGINT', () => ac.abort())
const cd = await PrivateContainerd.start({signal: ac.signal, log: (a) => console.error(`$ ${a.join(' ')}`)})
try {
  const cri = cd.cri
  const base = {namespace: 'shop', cgroupParent: cd.names.cgroupParent}
  const specs: PodSpec[] = [
    {...base, name: 'web-0', uid: '6b1a1d0e-9c2f-4a3b-8e1d-2f6c7b8a9d01'},
    {...base, name: 'node-agent', uid: '0f3c5e7a-1b2d-4c6e-8a9b-0c1d2e3f4a5b', hostNetwork: true, sharePid: true, attempt: 2},
    {...base, name: 'stopped', uid: '9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d'},
  ]
  const [web, agent, stopped] = [await runPod(cri, specs[0]), await runPod(cri, specs[1]), await runPod(cri, specs[2])]
  const sleeper = await runContainer(cri, web, 'sleeper', ['sleep', '3600'])
  const done = await runContainer(cri, web, 'done', ['true'])
  const agentCtr = await runContainer(cri, agent, 'agent', ['sleep', '3600'])
  await removeContainer(cri, done).catch(() => undefined)
  const exited = await runContainer(cri, agent, 'exited', ['sh', '-c', 'exit 3'])
  await new Promise((r) => setTimeout(r, 1000))
  await cri.call('StopPodSandbox', {podSandboxId: stopped.id})

  const answers: Record<string, Buffer> = {
    'version.bin': await cri.callRaw('Version', {version: 'v1'}),
    'list-pod-sandbox.bin': await cri.callRaw('ListPodSandbox', {}),
    'list-containers.bin': await cri.callRaw('ListContainers', {}),
  }
  for (const p of [web, agent, stopped]) answers[`pod-sandbox-status-${p.spec.name}.bin`] = await cri.callRaw('PodSandboxStatus', {podSandboxId: p.id, verbose: true})
  for (const c of [sleeper, agentCtr, exited]) answers[`container-status-${c.name}.bin`] = await cri.callRaw('ContainerStatus', {containerId: c.id, verbose: true})

  // What /proc says, independently of the answers: each pause is PID 1 in its sandbox's cgroup.
  const expected = {
    // `containerd --version`: "containerd github.com/containerd/containerd 1.6.20~ds1 <revision>"
    runtime: {name: 'containerd', version: execFileSync('containerd', ['--version']).toString().split(' ')[2]},
    pods: [web, agent, stopped].map((p) => ({
      id: p.id, name: p.spec.name, namespace: p.spec.namespace, uid: p.spec.uid, attempt: p.spec.attempt ?? 0,
      hostNetwork: p.spec.hostNetwork ?? false, pausePid: p === stopped ? null : pid1InCgroup(cd.names.cgroupParent, p.id),
      pausePidWhenRunning: p.pausePid,
    })),
    containers: [sleeper, agentCtr, exited].map((c) => ({id: c.id, name: c.name, pod: c.pod.id, pid: c.pid, comm: readComm(c.pid) ?? null})),
  }
  mkdirSync(OUT, {recursive: true})
  for (const [f, b] of Object.entries(answers)) writeFileSync(path.join(OUT, f), b)
  writeFileSync(path.join(OUT, 'expected.json'), `${JSON.stringify(expected, null, 2)}\n`)
  console.error(`wrote ${Object.keys(answers).length} answers and expected.json to ${OUT}`)
} finally {
  const left = await cd.cleanup()
  for (const l of left) console.error(`left: ${l.why} (${l.fix})`)
  if (left.length > 0) process.exitCode = 1
}
