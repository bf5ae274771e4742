// The deployment files as what a cluster and an image builder will see: deploy/*.yaml parsed and
// checked as Kubernetes objects, deploy/Containerfile parsed and linted. Each checker returns its
// problems as sentences; the files must have none, and broken copies must have the expected ones
// (so every check is shown to be able to fail).
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import path from 'node:path'
import {parseAllDocuments} from 'yaml'
import RecordCommand from '../../src/commands/record.js'

type Obj = Record<string, any>

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const read = (f: string): string => readFileSync(path.join(ROOT, f), 'utf8')
const VERSION = (JSON.parse(read('package.json')) as {version: string}).version

/** The exact capabilities the agent gets; docs/deploy.md says why each (and why not SYS_ADMIN). */
const CAPABILITIES = ['BPF', 'PERFMON', 'SYS_PTRACE', 'SYS_NICE']

function parseYamlDocs(file: string): Obj[] {
  const docs = parseAllDocuments(read(file))
  for (const d of docs) if (d.errors.length) assert.fail(`${file}: ${d.errors.map((e) => e.message).join('; ')}`)
  return docs.map((d) => d.toJS() as Obj).filter((d) => d !== null)
}

const clone = <T>(v: T): T => structuredClone(v)

// --- Kubernetes object checks -------------------------------------------------------------------

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$/
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/
const KINDS: Record<string, string> = {Namespace: 'v1', Pod: 'v1', DaemonSet: 'apps/v1'}

function checkLabels(labels: unknown, where: string): string[] {
  if (labels === undefined) return []
  if (typeof labels !== 'object' || labels === null) return [`${where}: labels is not a map`]
  const out: string[] = []
  for (const [k, v] of Object.entries(labels)) {
    const [prefix, name] = k.includes('/') ? k.split('/', 2) : [undefined, k]
    if ((prefix !== undefined && !DNS_SUBDOMAIN.test(prefix)) || !LABEL_NAME.test(name)) out.push(`${where}: label key ${k} is invalid`)
    if (typeof v !== 'string' || !LABEL_VALUE.test(v)) out.push(`${where}: label ${k} has an invalid value ${JSON.stringify(v)} (values are strings)`)
  }
  return out
}

/** CPU in millicores, memory in bytes; undefined when not a Kubernetes quantity. */
export function quantity(v: unknown, kind: 'cpu' | 'memory'): number | undefined {
  const s = String(v)
  if (kind === 'cpu') {
    const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(s)
    return m ? Number(m[1]) * (m[2] ? 1 : 1000) : undefined
  }
  const m = /^(\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(s)
  if (!m) return undefined
  const mult: Record<string, number> = {'': 1, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12}
  return Number(m[1]) * mult[m[2] ?? '']
}

function checkMeta(o: Obj, where: string, namespace: string | undefined): string[] {
  const out: string[] = []
  if (KINDS[o.kind] === undefined) out.push(`${where}: unexpected kind ${o.kind}`)
  else if (o.apiVersion !== KINDS[o.kind]) out.push(`${where}: ${o.kind} needs apiVersion ${KINDS[o.kind]}, not ${o.apiVersion}`)
  const name = o.metadata?.name
  if (typeof name !== 'string' || !DNS_SUBDOMAIN.test(name) || name.length > 253) out.push(`${where}: metadata.name ${JSON.stringify(name)} is not a DNS subdomain`)
  if (o.kind === 'Namespace' && typeof name === 'string' && !DNS_LABEL.test(name)) out.push(`${where}: a namespace name must be a DNS label`)
  if (o.kind !== 'Namespace' && o.metadata?.namespace !== namespace) out.push(`${where}: metadata.namespace is ${o.metadata?.namespace}, expected ${namespace}`)
  out.push(...checkLabels(o.metadata?.labels, `${where} metadata`))
  return out
}

/** Every `$VAR` a shell command line uses is set in the container's env. */
function shellVars(script: string): string[] {
  return [...new Set([...script.matchAll(/\$\{?([A-Z_][A-Z0-9_]*)\}?/g)].map((m) => m[1]))]
}

/** The runtimes' CRI sockets (src/sandbox/cri-client.ts finds them at these paths; docs/deploy.md). */
const CRI_SOCKETS = ['/run/containerd/containerd.sock', '/var/run/crio/crio.sock', '/var/run/cri-dockerd.sock']

/**
 * The CRI socket: a node's standard socket, a hostPath of type Socket (a node of another runtime
 * then refuses the pod with the reason), mounted read-only at the same path, and that path passed
 * to pausetrace (PAUSETRACE_CRI_SOCKET).
 */
function criSocketProblems(c: Obj, volumes: Map<string, Obj>, cw: string): string[] {
  const isCri = (m: Obj): boolean => {
    const h: Obj | undefined = volumes.get(m.name)?.hostPath
    return h?.type === 'Socket' || CRI_SOCKETS.includes(h?.path) || CRI_SOCKETS.includes(m.mountPath)
  }
  const mounts = (c.volumeMounts ?? []).filter(isCri)
  if (mounts.length !== 1) return [`${cw}: exactly one CRI socket must be mounted (found ${mounts.length})`]
  const m: Obj = mounts[0]
  const host: Obj = volumes.get(m.name)?.hostPath ?? {}
  const out: string[] = []
  if (!CRI_SOCKETS.includes(host.path)) out.push(`${cw}: the CRI socket ${host.path} is none of ${CRI_SOCKETS.join(', ')}`)
  if (host.type !== 'Socket') out.push(`${cw}: the CRI socket's hostPath must have type Socket`)
  if (m.mountPath !== host.path) out.push(`${cw}: the CRI socket must be mounted at the node's path ${host.path}`)
  if (m.readOnly !== true) out.push(`${cw}: the CRI socket must be mounted read-only`)
  // `record` takes no --cri-socket: the environment is how a trace is told
  const env = (c.env ?? []).find((e: Obj) => e.name === 'PAUSETRACE_CRI_SOCKET')?.value
  if (env !== m.mountPath) out.push(`${cw}: PAUSETRACE_CRI_SOCKET must name the mounted socket ${m.mountPath}`)
  return out
}

/** The flags a `pausetrace record …` line passes, checked against the record command itself. */
function recordFlagProblems(script: string, where: string): string[] {
  const out: string[] = []
  const known = new Set<string>()
  for (const [name, f] of Object.entries(RecordCommand.flags as Record<string, {char?: string}>)) {
    known.add(`--${name}`)
    if (f.char) known.add(`-${f.char}`)
  }
  const lines = script.split('\n').filter((l) => /\bpausetrace record\b/.test(l))
  if (lines.length === 0) out.push(`${where}: no \`pausetrace record\` command`)
  for (const line of lines) {
    // only pausetrace's own words: drop command substitutions like $(date -u +%Y…)
    const l = line.replace(/\$\([^)]*\)/g, '')
    for (const m of l.matchAll(/(?<=\s)(--?[a-z][a-z-]*)\b/g)) if (!known.has(m[1])) out.push(`${where}: record has no flag ${m[1]}`)
    if (!/\bexec pausetrace record\b/.test(l)) out.push(`${where}: the shell must exec pausetrace, so that the kubelet's SIGTERM reaches it`)
  }
  return out
}

export function checkPodSpec(spec: Obj, where: string): string[] {
  const out: string[] = []
  if (spec.hostPID !== true) out.push(`${where}: hostPID must be true (the node's /proc and PID namespace)`)
  if (spec.hostNetwork === true) out.push(`${where}: hostNetwork is not needed`)
  if (spec.automountServiceAccountToken !== false) out.push(`${where}: automountServiceAccountToken should be false (no API access is needed)`)
  if (spec.nodeSelector?.['kubernetes.io/os'] !== 'linux') out.push(`${where}: nodeSelector must hold kubernetes.io/os: linux`)
  if (!(Number(spec.terminationGracePeriodSeconds) >= 10)) out.push(`${where}: terminationGracePeriodSeconds must leave record time to write its footer (>= 10)`)
  const volumes = new Map<string, Obj>()
  for (const v of spec.volumes ?? []) {
    if (volumes.has(v.name)) out.push(`${where}: volume ${v.name} is defined twice`)
    volumes.set(v.name, v)
  }
  const used = new Set<string>()
  const containers: Obj[] = spec.containers ?? []
  if (containers.length === 0) out.push(`${where}: no containers`)
  for (const c of containers) {
    const cw = `${where} container ${c.name}`
    if (typeof c.name !== 'string' || !DNS_LABEL.test(c.name)) out.push(`${cw}: name is not a DNS label`)
    const image = String(c.image ?? '')
    // REGISTRY/pausetrace:VERSION, optionally pinned @sha256:… at release (docs/release.md)
    const tag = /:([^:/@]+)(@sha256:[0-9a-f]{64})?$/.exec(image)?.[1]
    if (tag !== VERSION) out.push(`${cw}: image ${image} must be tagged with the package version ${VERSION}`)
    const sc: Obj = c.securityContext ?? {}
    if (sc.runAsUser !== 0) out.push(`${cw}: runAsUser must be 0 (bpftrace refuses other uids)`)
    if (sc.privileged === true) out.push(`${cw}: privileged is not needed; the capabilities are listed`)
    const add: string[] = sc.capabilities?.add ?? []
    const drop: string[] = sc.capabilities?.drop ?? []
    if (!drop.includes('ALL')) out.push(`${cw}: capabilities.drop must be ["ALL"]`)
    if ([...add].sort().join(',') !== [...CAPABILITIES].sort().join(',')) out.push(`${cw}: capabilities.add is ${JSON.stringify(add)}, expected exactly ${JSON.stringify(CAPABILITIES)}`)
    // the API server refuses allowPrivilegeEscalation: false together with privileged or CAP_SYS_ADMIN
    if (sc.allowPrivilegeEscalation === false && (sc.privileged === true || add.includes('SYS_ADMIN'))) out.push(`${cw}: allowPrivilegeEscalation: false is invalid with privileged or SYS_ADMIN`)
    if (sc.allowPrivilegeEscalation !== false) out.push(`${cw}: allowPrivilegeEscalation should be false`)
    if (sc.readOnlyRootFilesystem !== true) out.push(`${cw}: readOnlyRootFilesystem should be true`)
    if (sc.seccompProfile?.type !== 'Unconfined') out.push(`${cw}: seccompProfile must be Unconfined (default profiles may refuse bpf and perf_event_open)`)
    for (const kind of ['cpu', 'memory'] as const) {
      const req = quantity(c.resources?.requests?.[kind], kind)
      const lim = quantity(c.resources?.limits?.[kind], kind)
      if (req === undefined) out.push(`${cw}: resources.requests.${kind} is missing or not a quantity`)
      if (lim === undefined) out.push(`${cw}: resources.limits.${kind} is missing or not a quantity`)
      if (req !== undefined && lim !== undefined && req > lim) out.push(`${cw}: ${kind} request is above its limit`)
    }
    const paths = new Set<string>()
    for (const m of c.volumeMounts ?? []) {
      used.add(m.name)
      const v = volumes.get(m.name)
      if (!v) out.push(`${cw}: volumeMount ${m.name} has no volume`)
      if (paths.has(m.mountPath)) out.push(`${cw}: two mounts at ${m.mountPath}`)
      paths.add(m.mountPath)
      if (v?.hostPath && m.mountPath.startsWith('/sys/') && (v.hostPath.path !== m.mountPath || m.readOnly !== true)) out.push(`${cw}: ${m.mountPath} must be the node's ${m.mountPath}, read-only`)
    }
    for (const p of ['/sys/kernel/tracing', '/sys/kernel/btf']) if (!paths.has(p)) out.push(`${cw}: ${p} is not mounted`)
    out.push(...criSocketProblems(c, volumes, cw))
    if ([...paths].some((p) => p === '/proc' || p.startsWith('/proc/'))) out.push(`${cw}: /proc needs no mount (hostPID gives the node's /proc)`)
    const env = new Set<string>((c.env ?? []).map((e: Obj) => e.name))
    const script = [...(c.command ?? []), ...(c.args ?? [])].join('\n')
    for (const name of shellVars(script)) if (!env.has(name)) out.push(`${cw}: the command uses $${name}, which env does not set`)
    out.push(...recordFlagProblems(script, cw))
  }
  for (const name of volumes.keys()) if (!used.has(name)) out.push(`${where}: volume ${name} is not mounted`)
  return out
}

export function checkDaemonSetFile(docs: Obj[]): string[] {
  const out: string[] = []
  const ns = docs.find((d) => d.kind === 'Namespace')
  const ds = docs.find((d) => d.kind === 'DaemonSet')
  if (!ns) out.push('daemonset.yaml: no Namespace')
  if (!ds) return [...out, 'daemonset.yaml: no DaemonSet']
  docs.forEach((d, i) => out.push(...checkMeta(d, `daemonset.yaml document ${i + 1} (${d.kind})`, ns?.metadata?.name)))
  if (ns && ns.metadata?.labels?.['pod-security.kubernetes.io/enforce'] !== 'privileged') out.push('daemonset.yaml Namespace: pod-security.kubernetes.io/enforce must be privileged (hostPID, hostPath, capabilities)')
  const sel: Obj = ds.spec?.selector?.matchLabels ?? {}
  const tpl: Obj = ds.spec?.template?.metadata?.labels ?? {}
  if (Object.keys(sel).length === 0) out.push('DaemonSet: spec.selector.matchLabels is empty')
  for (const [k, v] of Object.entries(sel)) if (tpl[k] !== v) out.push(`DaemonSet: selector ${k}=${v} does not match the template labels`)
  out.push(...checkLabels(tpl, 'DaemonSet template'))
  const spec: Obj = ds.spec?.template?.spec ?? {}
  if (spec.restartPolicy !== undefined && spec.restartPolicy !== 'Always') out.push('DaemonSet: restartPolicy must be Always')
  if (typeof spec.nodeSelector?.['pausetrace/trace'] !== 'string') out.push('DaemonSet: nodes must opt in through the nodeSelector pausetrace/trace')
  out.push(...checkPodSpec(spec, 'DaemonSet'))
  const c: Obj = spec.containers?.[0] ?? {}
  const script = (c.args ?? []).join('\n')
  if (!/stdout\)[^\n]*-o -[^\n]*2>\/dev\/termination-log/.test(script)) out.push('DaemonSet: OUTPUT=stdout must record to "-" and send the summary to /dev/termination-log')
  if (!/-o "\/var\/lib\/pausetrace\/\$NODE_NAME-/.test(script)) out.push('DaemonSet: OUTPUT=file must write under /var/lib/pausetrace/ named after the node')
  const traces = (spec.volumes ?? []).find((v: Obj) => v.hostPath?.path === '/var/lib/pausetrace')
  if (!traces || !(c.volumeMounts ?? []).some((m: Obj) => m.name === traces.name && m.mountPath === '/var/lib/pausetrace' && m.readOnly !== true)) out.push('DaemonSet: /var/lib/pausetrace must be a writable hostPath')
  const nodeName = (c.env ?? []).find((e: Obj) => e.name === 'NODE_NAME')
  if (nodeName?.valueFrom?.fieldRef?.fieldPath !== 'spec.nodeName') out.push('DaemonSet: NODE_NAME must come from spec.nodeName')
  return out
}

export function checkPodFile(docs: Obj[]): string[] {
  if (docs.length !== 1 || docs[0].kind !== 'Pod') return ['pod.yaml: expected exactly one Pod']
  const pod = docs[0]
  const out = checkMeta(pod, 'pod.yaml', 'pausetrace')
  if (pod.spec?.restartPolicy !== 'Never') out.push('Pod: restartPolicy must be Never (one recording)')
  if (typeof pod.spec?.nodeSelector?.['kubernetes.io/hostname'] !== 'string') out.push('Pod: nodeSelector must pin kubernetes.io/hostname')
  out.push(...checkPodSpec(pod.spec ?? {}, 'Pod'))
  const script = (pod.spec?.containers?.[0]?.args ?? []).join('\n')
  if (!/-o - [^\n]*2>\/dev\/termination-log/.test(script)) out.push('Pod: records must go to stdout and the summary to /dev/termination-log')
  return out
}

// --- Containerfile ------------------------------------------------------------------------------

export interface Instruction {
  op: string
  args: string
  line: number
}

/** Instructions with their continuation lines joined; comments and blank lines dropped. */
export function parseContainerfile(text: string): Instruction[] {
  const out: Instruction[] = []
  let cur: Instruction | undefined
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd()
    if (cur === undefined && (/^\s*#/.test(line) || line.trim() === '')) return
    if (cur !== undefined && /^\s*#/.test(line)) return
    const cont = line.endsWith('\\')
    const body = cont ? line.slice(0, -1) : line
    if (cur === undefined) {
      const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(body)
      if (!m) throw new Error(`Containerfile line ${i + 1}: not an instruction: ${line}`)
      cur = {op: m[1].toUpperCase(), args: m[2].trim(), line: i + 1}
    } else {
      cur.args = `${cur.args} ${body.trim()}`.trim()
    }
    if (!cont) {
      out.push(cur)
      cur = undefined
    }
  })
  if (cur) out.push(cur)
  return out
}

export function lintContainerfile(ins: Instruction[]): string[] {
  const out: string[] = []
  const stages: string[] = []
  const froms = ins.filter((i) => i.op === 'FROM')
  if (froms.length === 0) return ['Containerfile: no FROM']
  for (const f of froms) {
    const [image, as, alias] = f.args.split(/\s+/)
    if (as?.toUpperCase() === 'AS' && alias) stages.push(alias)
    if (stages.includes(image) && image !== alias) continue
    const digest = /@sha256:[0-9a-f]{64}$/.test(image)
    const tag = /:([^:/@]+)(@|$)/.exec(image)?.[1]
    if (!digest && !(tag && /^\d+\.\d+\.\d+(-[a-z0-9.-]+)?$/.test(tag))) out.push(`Containerfile line ${f.line}: FROM ${image} is pinned neither by digest nor by a full version`)
    if (/\$/.test(image)) out.push(`Containerfile line ${f.line}: FROM ${image} is not a literal image`)
    if (/(^|\/)node:/.test(image) && !/node:22\./.test(image)) out.push(`Containerfile line ${f.line}: the Node.js base must be Node 22`)
  }
  for (const i of ins) {
    if (i.op === 'RUN' && /\b(curl|wget)\b[^|;&]*\|\s*(sudo\s+)?(ba|z|da)?sh\b/.test(i.args)) out.push(`Containerfile line ${i.line}: a script piped from the network into a shell`)
    if (i.op === 'RUN' && /\bapt-get install\b/.test(i.args) && !/--no-install-recommends/.test(i.args)) out.push(`Containerfile line ${i.line}: apt-get install without --no-install-recommends`)
    if (i.op === 'RUN' && /\bapt-get install\b/.test(i.args) && !/rm -rf \/var\/lib\/apt\/lists/.test(i.args)) out.push(`Containerfile line ${i.line}: apt lists left in the layer`)
    if (i.op === 'RUN' && /\bnpm (i|install)\b/.test(i.args) && !/--omit=dev/.test(i.args)) out.push(`Containerfile line ${i.line}: npm install without --omit=dev`)
    if (i.op === 'ADD' && /^https?:/.test(i.args)) out.push(`Containerfile line ${i.line}: ADD from a URL`)
    const from = /--from=(\S+)/.exec(i.args)?.[1]
    if (i.op === 'COPY' && from && !stages.includes(from)) out.push(`Containerfile line ${i.line}: COPY --from=${from} names no stage`)
  }
  const last = ins.lastIndexOf(froms[froms.length - 1])
  const final = ins.slice(last)
  if (!final.some((i) => i.op === 'USER')) out.push('Containerfile: the final stage sets no USER')
  if (!final.some((i) => i.op === 'RUN' && /\bbpftrace\b/.test(i.args) && /apt-get install/.test(i.args))) out.push('Containerfile: bpftrace is not installed from Debian packages in the final stage')
  if (!final.some((i) => i.op === 'ENTRYPOINT' && /"pausetrace"/.test(i.args))) out.push('Containerfile: ENTRYPOINT is not pausetrace')
  // the layout the package e2e test reproduces (test/e2e/package.test.ts, "the DaemonSet's container")
  if (!final.some((i) => i.op === 'COPY' && /\/usr\/local\/lib\/node_modules\/pausetrace$/.test(i.args))) out.push('Containerfile: pausetrace is not at /usr/local/lib/node_modules/pausetrace')
  if (!final.some((i) => i.op === 'RUN' && /ln -s \.\.\/lib\/node_modules\/pausetrace\/bin\/run\.js \/usr\/local\/bin\/pausetrace/.test(i.args))) out.push('Containerfile: /usr/local/bin/pausetrace is not linked to bin/run.js')
  const versionArgs = ins.filter((i) => i.op === 'ARG' && i.args.startsWith('VERSION='))
  if (versionArgs.length === 0) out.push('Containerfile: no ARG VERSION')
  for (const a of versionArgs) if (a.args !== `VERSION=${VERSION}`) out.push(`Containerfile line ${a.line}: ARG ${a.args} is not the package version ${VERSION}`)
  if (!ins.some((i) => i.op === 'COPY' && /pausetrace-\$\{VERSION\}\.tgz/.test(i.args))) out.push('Containerfile: the npm tarball (pausetrace-${VERSION}.tgz) is not what gets installed')
  return out
}

// --- tests --------------------------------------------------------------------------------------

describe('deploy/: Kubernetes manifests and the Containerfile', () => {
  const dsDocs = parseYamlDocs('deploy/daemonset.yaml')
  const podDocs = parseYamlDocs('deploy/pod.yaml')
  const containerfile = parseContainerfile(read('deploy/Containerfile'))

  it('daemonset.yaml: a Namespace and a DaemonSet that are valid objects with nothing to fix', () => {
    assert.deepEqual(dsDocs.map((d) => `${d.apiVersion} ${d.kind} ${d.metadata?.name}`), ['v1 Namespace pausetrace', 'apps/v1 DaemonSet pausetrace'])
    assert.deepEqual(checkDaemonSetFile(dsDocs), [])
  })

  it('metrics: the DaemonSet serves them on its metrics port with the prometheus.io annotations; podmonitor.yaml selects its pods and that port', () => {
    const tpl = dsDocs[1].spec.template
    const c = tpl.spec.containers[0]
    const port = (c.ports ?? []).find((p: Obj) => p.name === 'metrics')
    assert.deepEqual([port?.containerPort, port?.protocol], [9479, 'TCP'])
    assert.deepEqual(tpl.metadata.annotations, {'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port.containerPort), 'prometheus.io/path': '/metrics'})
    const script = (c.args as string[]).join('\n')
    assert.equal(script.split('\n').filter((l) => /\bpausetrace record\b/.test(l)).every((l) => l.includes(`--metrics 0.0.0.0:${port.containerPort}`)), true, script)
    const pm = parseYamlDocs('deploy/podmonitor.yaml')
    assert.deepEqual(pm.map((d) => `${d.apiVersion} ${d.kind} ${d.metadata?.namespace}/${d.metadata?.name}`), ['monitoring.coreos.com/v1 PodMonitor pausetrace/pausetrace'])
    const sel = pm[0].spec.selector.matchLabels as Record<string, string>
    assert.ok(Object.entries(sel).every(([k, v]) => tpl.metadata.labels[k] === v), 'the PodMonitor selects the DaemonSet\'s pods')
    assert.deepEqual(pm[0].spec.podMetricsEndpoints.map((e: Obj) => [e.port, e.path]), [['metrics', '/metrics']])
  })

  it('pod.yaml: one Pod, the same container settings, recording to stdout', () => {
    assert.deepEqual(podDocs.map((d) => `${d.apiVersion} ${d.kind} ${d.metadata?.name}`), ['v1 Pod pausetrace-node-a'])
    assert.deepEqual(checkPodFile(podDocs), [])
    // the one-shot Pod and the DaemonSet must not drift apart
    const a = clone(podDocs[0].spec.containers[0])
    const b = clone(dsDocs[1].spec.template.spec.containers[0])
    for (const k of ['securityContext', 'resources', 'image']) assert.deepEqual(a[k], b[k], `${k} differs between pod.yaml and daemonset.yaml`)
  })

  it('the checks catch a broken DaemonSet', () => {
    const docs = clone(dsDocs)
    const spec = docs[1].spec.template.spec
    docs[1].spec.selector.matchLabels['app.kubernetes.io/component'] = 'other'
    spec.hostPID = false
    spec.containers[0].volumeMounts[0].name = 'tracefs-typo'
    spec.containers[0].securityContext.capabilities.add.push('SYS_ADMIN')
    delete spec.containers[0].resources.limits.memory
    spec.containers[0].args = [spec.containers[0].args[0].replaceAll('--max-size', '--maxsize').replace(/\$DURATION/g, '$DURATON')]
    docs[1].apiVersion = 'extensions/v1beta1'
    assert.deepEqual(checkDaemonSetFile(docs), [
      'daemonset.yaml document 2 (DaemonSet): DaemonSet needs apiVersion apps/v1, not extensions/v1beta1',
      'DaemonSet: selector app.kubernetes.io/component=other does not match the template labels',
      'DaemonSet: hostPID must be true (the node\'s /proc and PID namespace)',
      'DaemonSet container record: capabilities.add is ["BPF","PERFMON","SYS_PTRACE","SYS_NICE","SYS_ADMIN"], expected exactly ["BPF","PERFMON","SYS_PTRACE","SYS_NICE"]',
      'DaemonSet container record: allowPrivilegeEscalation: false is invalid with privileged or SYS_ADMIN',
      'DaemonSet container record: resources.limits.memory is missing or not a quantity',
      'DaemonSet container record: volumeMount tracefs-typo has no volume',
      'DaemonSet container record: the command uses $DURATON, which env does not set',
      'DaemonSet container record: record has no flag --maxsize',
      'DaemonSet container record: record has no flag --maxsize',
      'DaemonSet: volume tracefs is not mounted',
    ])
  })

  it('the checks catch a CRI socket mounted writable, elsewhere, of the wrong type or not given in PAUSETRACE_CRI_SOCKET', () => {
    const docs = clone(dsDocs)
    const spec = docs[1].spec.template.spec
    const c = spec.containers[0]
    const vol = spec.volumes.find((v: Obj) => v.name === 'cri-socket')
    const mount = c.volumeMounts.find((m: Obj) => m.name === 'cri-socket')
    vol.hostPath.type = 'File'
    mount.readOnly = false
    mount.mountPath = '/run/cri.sock'
    c.env = c.env.filter((e: Obj) => e.name !== 'PAUSETRACE_CRI_SOCKET')
    assert.deepEqual(checkDaemonSetFile(docs), [
      'DaemonSet container record: the CRI socket\'s hostPath must have type Socket',
      'DaemonSet container record: the CRI socket must be mounted at the node\'s path /run/containerd/containerd.sock',
      'DaemonSet container record: the CRI socket must be mounted read-only',
      'DaemonSet container record: PAUSETRACE_CRI_SOCKET must name the mounted socket /run/cri.sock',
    ])
    // CRI-O's socket, as the comments say to change it, is fine
    Object.assign(vol.hostPath, {path: '/var/run/crio/crio.sock', type: 'Socket'})
    Object.assign(mount, {mountPath: '/var/run/crio/crio.sock', readOnly: true})
    c.env.push({name: 'PAUSETRACE_CRI_SOCKET', value: '/var/run/crio/crio.sock'})
    assert.deepEqual(checkDaemonSetFile(docs), [])
    c.volumeMounts = c.volumeMounts.filter((m: Obj) => m.name !== 'cri-socket')
    spec.volumes = spec.volumes.filter((v: Obj) => v.name !== 'cri-socket')
    assert.deepEqual(checkDaemonSetFile(docs), ['DaemonSet container record: exactly one CRI socket must be mounted (found 0)'])
  })

  it('the checks catch a broken Pod', () => {
    const docs = clone(podDocs)
    docs[0].metadata.name = 'pausetrace-NODE_NAME'
    docs[0].spec.restartPolicy = 'Always'
    docs[0].spec.containers[0].image = 'registry.example.com/pausetrace:latest'
    docs[0].spec.containers[0].volumeMounts = docs[0].spec.containers[0].volumeMounts.filter((m: Obj) => m.name !== 'btf')
    docs[0].spec.containers[0].args = ['pausetrace record -o - --duration "$DURATION"']
    assert.deepEqual(checkPodFile(docs), [
      'pod.yaml: metadata.name "pausetrace-NODE_NAME" is not a DNS subdomain',
      'Pod: restartPolicy must be Never (one recording)',
      `Pod container record: image registry.example.com/pausetrace:latest must be tagged with the package version ${VERSION}`,
      'Pod container record: /sys/kernel/btf is not mounted',
      'Pod container record: the shell must exec pausetrace, so that the kubelet\'s SIGTERM reaches it',
      'Pod: volume btf is not mounted',
      'Pod: records must go to stdout and the summary to /dev/termination-log',
    ])
  })

  it('quantities parse as Kubernetes reads them', () => {
    assert.deepEqual(['100m', '1', '0.5', '2.5m', 'x'].map((q) => quantity(q, 'cpu')), [100, 1000, 500, 2.5, undefined])
    assert.deepEqual(['256Mi', '1Gi', '500M', '12', 'lots'].map((q) => quantity(q, 'memory')), [268435456, 1073741824, 500e6, 12, undefined])
  })

  it('Containerfile: pinned bases, a USER, Debian bpftrace, the npm tarball, no curl | sh', () => {
    const froms = containerfile.filter((i) => i.op === 'FROM').map((i) => i.args)
    assert.equal(froms.length, 2)
    // Node 22 on Debian trixie (bpftrace 0.23), the same base for both stages, a digest allowed
    assert.match(froms[0], /^docker\.io\/library\/node:22\.\d+\.\d+-trixie-slim(@sha256:[0-9a-f]{64})? AS install$/)
    assert.equal(froms[1], froms[0].replace(/ AS install$/, ''))
    assert.deepEqual(lintContainerfile(containerfile), [])
  })

  it('the Containerfile lint catches an unpinned base, a piped installer and a missing USER', () => {
    const text = read('deploy/Containerfile')
      .replace(/^FROM \S+$/m, 'FROM docker.io/library/node:latest') // the final stage's base
      .replace(/^USER .*$/m, '')
      .replace('RUN apt-get update \\', 'RUN curl -fsSL https://deb.example.com/setup | bash - \\\n && apt-get update \\')
    const lineOf = (s: string): number => text.split('\n').findIndex((l) => l.startsWith(s)) + 1
    assert.deepEqual(lintContainerfile(parseContainerfile(text)), [
      `Containerfile line ${lineOf('FROM docker.io/library/node:latest')}: FROM docker.io/library/node:latest is pinned neither by digest nor by a full version`,
      `Containerfile line ${lineOf('FROM docker.io/library/node:latest')}: the Node.js base must be Node 22`,
      `Containerfile line ${lineOf('RUN curl')}: a script piped from the network into a shell`,
      'Containerfile: the final stage sets no USER',
    ])
  })

  it('parses continuation lines and comments inside them', () => {
    assert.deepEqual(parseContainerfile('# c\nFROM a:1.2.3\nRUN one \\\n# inside\n && two\nUSER 0:0\n'), [
      {op: 'FROM', args: 'a:1.2.3', line: 2},
      {op: 'RUN', args: 'one && two', line: 3},
      {op: 'USER', args: '0:0', line: 6},
    ])
  })
})
