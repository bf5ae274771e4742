// Offline checks of the lab VM (vagrant/): the Vagrantfile validates, the provisioning scripts pass
// shellcheck, and the seed manifests are Kubernetes Pods. No VM boots here. vagrant and shellcheck
// come from .ci/run; without them the checks are skipped loudly, except under CI=true, where they fail.
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import type {Context} from 'mocha'
import {parseAllDocuments} from 'yaml'
import {findOnPath} from '../../src/util/which.js'

const VAGRANT_DIR = fileURLToPath(new URL('../../vagrant/', import.meta.url))
const PROVISION_DIR = path.join(VAGRANT_DIR, 'provision')
const MANIFEST_DIR = path.join(VAGRANT_DIR, 'manifests')

function requireTool(ctx: Context, tool: string, install: string): string {
  const found = findOnPath(tool)
  if (found) return found
  if (process.env.CI === 'true') throw new Error(`${tool} is not installed under CI=true: .ci/run must install it (${install})`)
  console.warn(`    SKIPPED: ${tool} is not installed (${install})`)
  ctx.skip()
}

function run(cmd: string, args: string[], cwd: string): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    execFile(cmd, args, {cwd, timeout: 120_000, env: {...process.env, VAGRANT_CHECKPOINT_DISABLE: '1'}}, (err, stdout, stderr) => {
      const code: unknown = err ? (err as {code?: unknown}).code : 0
      resolve({code: typeof code === 'number' ? code : 1, stdout: String(stdout), stderr: String(stderr)})
    })
  })
}

// ---------------------------------------------------------------------------------------------
// A Pod, as the Kubernetes API would take it: the fields of core/v1 Pod, PodSpec and Container
// (Kubernetes 1.31), with the types the lab's manifests use checked.

const POD_KEYS = new Set(['apiVersion', 'kind', 'metadata', 'spec'])
const METADATA_KEYS = new Set(['name', 'namespace', 'labels', 'annotations', 'generateName'])
const SPEC_KEYS = new Set([
  'activeDeadlineSeconds', 'affinity', 'automountServiceAccountToken', 'containers', 'dnsConfig', 'dnsPolicy', 'enableServiceLinks',
  'ephemeralContainers', 'hostAliases', 'hostIPC', 'hostNetwork', 'hostPID', 'hostUsers', 'hostname', 'imagePullSecrets', 'initContainers',
  'nodeName', 'nodeSelector', 'os', 'overhead', 'preemptionPolicy', 'priority', 'priorityClassName', 'readinessGates', 'resourceClaims',
  'restartPolicy', 'runtimeClassName', 'schedulerName', 'schedulingGates', 'securityContext', 'serviceAccount', 'serviceAccountName',
  'setHostnameAsFQDN', 'shareProcessNamespace', 'subdomain', 'terminationGracePeriodSeconds', 'tolerations', 'topologySpreadConstraints', 'volumes',
])
const CONTAINER_KEYS = new Set([
  'args', 'command', 'env', 'envFrom', 'image', 'imagePullPolicy', 'lifecycle', 'livenessProbe', 'name', 'ports', 'readinessProbe',
  'resizePolicy', 'resources', 'restartPolicy', 'securityContext', 'startupProbe', 'stdin', 'stdinOnce', 'terminationMessagePath',
  'terminationMessagePolicy', 'tty', 'volumeDevices', 'volumeMounts', 'workingDir',
])
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)
const isStringArray = (v: unknown): boolean => Array.isArray(v) && v.every((s) => typeof s === 'string')

/** Every way `doc` is not a valid Pod, as `path: problem` lines (empty when it is one). */
function podProblems(doc: unknown): string[] {
  const out: string[] = []
  if (!isObject(doc)) return ['the document is not a mapping']
  for (const k of Object.keys(doc)) if (!POD_KEYS.has(k)) out.push(`${k}: unknown top-level field`)
  if (doc.apiVersion !== 'v1') out.push(`apiVersion: must be "v1", not ${JSON.stringify(doc.apiVersion)}`)
  if (doc.kind !== 'Pod') out.push(`kind: must be "Pod", not ${JSON.stringify(doc.kind)}`)
  const meta = doc.metadata
  if (!isObject(meta)) out.push('metadata: missing')
  else {
    for (const k of Object.keys(meta)) if (!METADATA_KEYS.has(k)) out.push(`metadata.${k}: unknown field`)
    if (typeof meta.name !== 'string' || meta.name.length > 253 || !DNS_SUBDOMAIN.test(meta.name)) out.push(`metadata.name: must be a DNS subdomain, not ${JSON.stringify(meta.name)}`)
    if (meta.labels !== undefined && !(isObject(meta.labels) && Object.values(meta.labels).every((v) => typeof v === 'string'))) out.push('metadata.labels: must map strings to strings')
  }
  const spec = doc.spec
  if (!isObject(spec)) return [...out, 'spec: missing']
  for (const k of Object.keys(spec)) if (!SPEC_KEYS.has(k)) out.push(`spec.${k}: unknown field`)
  if (spec.shareProcessNamespace !== undefined && typeof spec.shareProcessNamespace !== 'boolean') out.push(`spec.shareProcessNamespace: must be a boolean, not ${JSON.stringify(spec.shareProcessNamespace)}`)
  if (spec.terminationGracePeriodSeconds !== undefined && !(Number.isInteger(spec.terminationGracePeriodSeconds) && (spec.terminationGracePeriodSeconds as number) >= 0)) out.push('spec.terminationGracePeriodSeconds: must be a whole number of seconds')
  if (!Array.isArray(spec.containers) || spec.containers.length === 0) return [...out, 'spec.containers: must list at least one container']
  const names = new Set<string>()
  spec.containers.forEach((c: unknown, i: number) => {
    const at = `spec.containers[${i}]`
    if (!isObject(c)) return out.push(`${at}: must be a mapping`)
    for (const k of Object.keys(c)) if (!CONTAINER_KEYS.has(k)) out.push(`${at}.${k}: unknown field`)
    if (typeof c.name !== 'string' || !DNS_LABEL.test(c.name)) out.push(`${at}.name: must be a DNS label, not ${JSON.stringify(c.name)}`)
    else if (names.has(c.name)) out.push(`${at}.name: ${c.name} is used twice`)
    else names.add(c.name)
    if (typeof c.image !== 'string' || c.image.trim() === '') out.push(`${at}.image: missing`)
    for (const k of ['command', 'args'] as const) if (c[k] !== undefined && !isStringArray(c[k])) out.push(`${at}.${k}: must be a list of strings`)
    for (const k of ['stdin', 'tty', 'stdinOnce'] as const) if (c[k] !== undefined && typeof c[k] !== 'boolean') out.push(`${at}.${k}: must be a boolean`)
    if (c.imagePullPolicy !== undefined && !['Always', 'IfNotPresent', 'Never'].includes(c.imagePullPolicy as string)) out.push(`${at}.imagePullPolicy: must be Always, IfNotPresent or Never`)
  })
  return out
}

/** Parses a YAML stream: its documents' problems, YAML errors first. */
function manifestProblems(text: string): string[][] {
  return parseAllDocuments(text).map((d) => (d.errors.length > 0 ? d.errors.map((e) => `yaml: ${e.message.split('\n')[0]}`) : podProblems(d.toJS())))
}

describe('lab VM (vagrant/), checked offline', function () {
  this.timeout(180_000)

  describe('Kubernetes Pod manifests', () => {
    const files = readdirSync(MANIFEST_DIR).filter((f) => f.endsWith('.yaml')).sort()

    it('are the two seed pods: shareProcessNamespace true and false, nginx and a busybox shell', () => {
      assert.deepEqual(files, ['lab-private.yaml', 'lab-shared.yaml'])
      const pods = files.map((f) => parseAllDocuments(readFileSync(path.join(MANIFEST_DIR, f), 'utf8')).map((d) => d.toJS() as Record<string, any>))
      assert.deepEqual(
        pods.map((docs) => docs.map((p) => [p.metadata.name, p.spec.shareProcessNamespace, p.spec.containers.map((c: Record<string, unknown>) => `${c.name}=${c.image}`)])),
        [
          [['lab-private', false, ['nginx=docker.io/library/nginx:1.27', 'shell=docker.io/library/busybox:1.36']]],
          [['lab-shared', true, ['nginx=docker.io/library/nginx:1.27', 'shell=docker.io/library/busybox:1.36']]],
        ],
      )
    })

    for (const f of ['lab-private.yaml', 'lab-shared.yaml']) {
      it(`${f} is a valid Pod`, () => {
        assert.deepEqual(manifestProblems(readFileSync(path.join(MANIFEST_DIR, f), 'utf8')), [[]])
      })
    }

    it('the check rejects what the API server would', () => {
      const good = readFileSync(path.join(MANIFEST_DIR, 'lab-shared.yaml'), 'utf8')
      assert.deepEqual(manifestProblems(good.replace('shareProcessNamespace: true', 'shareProcessNamespace: "yes"')), [['spec.shareProcessNamespace: must be a boolean, not "yes"']])
      assert.deepEqual(manifestProblems(good.replace('kind: Pod', 'kind: Deployment')), [['kind: must be "Pod", not "Deployment"']])
      assert.deepEqual(manifestProblems(good.replace('apiVersion: v1', 'apiVersion: apps/v1')), [['apiVersion: must be "v1", not "apps/v1"']])
      assert.deepEqual(manifestProblems(`${good}status: {}\n`), [['status: unknown top-level field']])
      assert.deepEqual(manifestProblems(good.replace('name: lab-shared', 'name: Lab_Shared')), [['metadata.name: must be a DNS subdomain, not "Lab_Shared"']])
      assert.deepEqual(manifestProblems(good.replace('      image: docker.io/library/nginx:1.27\n', '')), [['spec.containers[0].image: missing']])
      assert.deepEqual(manifestProblems(good.replace('- name: shell', '- name: nginx')), [['spec.containers[1].name: nginx is used twice']])
      assert.deepEqual(manifestProblems(good.replace('command: ["sleep", "3600"]', 'command: sleep 3600')), [['spec.containers[1].command: must be a list of strings']])
      assert.deepEqual(manifestProblems(good.replace('stdin: true', 'stdln: true')), [['spec.containers[1].stdln: unknown field']])
      assert.deepEqual(manifestProblems('apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: []}\n'), [['spec.containers: must list at least one container']])
      assert.equal(manifestProblems('a: [1, 2\n')[0][0].startsWith('yaml: '), true)
    })
  })

  describe('Vagrantfile', () => {
    it('validates (vagrant validate --ignore-provider)', async function () {
      const vagrant = requireTool(this, 'vagrant', 'apt-get install -y --no-install-recommends vagrant')
      const r = await run(vagrant, ['validate', '--ignore-provider'], VAGRANT_DIR)
      assert.equal(r.code, 0, r.stdout + r.stderr)
      assert.match(r.stdout, /^Vagrantfile validated successfully\.$/m)
    })

    it('pins the box, both providers and every version the scripts need', () => {
      const text = readFileSync(path.join(VAGRANT_DIR, 'Vagrantfile'), 'utf8')
      assert.match(text, /^BOX = ENV\.fetch\("LAB_BOX", "bento\/ubuntu-24\.04"\)$/m)
      assert.match(text, /^BOX_VERSION = ENV\.fetch\("LAB_BOX_VERSION", "\d{6}\.\d+\.\d+"\)$/m)
      assert.match(text, /config\.vm\.provider "virtualbox" do/)
      assert.match(text, /config\.vm\.provider "libvirt" do/)
      const scripts = [...text.matchAll(/path: "provision\/([a-z]+\.sh)"/g)].map((m) => m[1])
      assert.deepEqual(scripts, ['base.sh', 'containerd.sh', 'kubernetes.sh', 'bpftrace.sh', 'node.sh', 'pausetrace.sh'])
      const pinned = new Set([...text.matchAll(/^\s+"([A-Z0-9_]+)" => "[^"]+",$/gm)].map((m) => m[1]))
      const required = new Set(readdirSync(PROVISION_DIR).flatMap((f) => [...readFileSync(path.join(PROVISION_DIR, f), 'utf8').matchAll(/^require ([A-Z0-9_ ]+)$/gm)].flatMap((m) => m[1].split(' '))))
      for (const v of ['LAB_IP', 'POD_CIDR']) required.delete(v)
      assert.deepEqual([...required].filter((v) => !pinned.has(v)), [])
      assert.deepEqual([...pinned].sort(), ['BPFTRACE_VERSION', 'CONTAINERD_VERSION', 'K8S_MINOR', 'K8S_VERSION', 'NODE_MAJOR'])
    })

    it('fails validation when a provisioning script is missing (the check can fail)', async function () {
      const vagrant = requireTool(this, 'vagrant', 'apt-get install -y --no-install-recommends vagrant')
      const dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-vagrant-'))
      try {
        copyFileSync(path.join(VAGRANT_DIR, 'Vagrantfile'), path.join(dir, 'Vagrantfile'))
        const r = await run(vagrant, ['validate', '--ignore-provider'], dir)
        assert.equal(r.code, 1)
        assert.match(r.stdout + r.stderr, /`path` for shell provisioner does not exist on the host system: .*\/provision\/base\.sh/)
      } finally {
        rmSync(dir, {recursive: true, force: true})
      }
    })
  })

  describe('provisioning scripts', () => {
    it('pass shellcheck (sourced lib.sh followed)', async function () {
      const shellcheck = requireTool(this, 'shellcheck', 'apt-get install -y shellcheck')
      const scripts = readdirSync(PROVISION_DIR).filter((f) => f.endsWith('.sh')).sort()
      assert.deepEqual(scripts, ['base.sh', 'bpftrace.sh', 'containerd.sh', 'kubernetes.sh', 'lib.sh', 'node.sh', 'pausetrace.sh'])
      const r = await run(shellcheck, ['-x', ...scripts], PROVISION_DIR)
      assert.equal(r.stdout + r.stderr, '')
      assert.equal(r.code, 0)
    })

    it('shellcheck does report a faulty script (the check can fail)', async function () {
      const shellcheck = requireTool(this, 'shellcheck', 'apt-get install -y shellcheck')
      const dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-shellcheck-'))
      try {
        writeFileSync(path.join(dir, 'bad.sh'), '#!/usr/bin/env bash\nrm -rf $1/cache\n')
        const r = await run(shellcheck, ['-x', 'bad.sh'], dir)
        assert.equal(r.code, 1)
        assert.match(r.stdout, /SC2086/)
      } finally {
        rmSync(dir, {recursive: true, force: true})
      }
    })
  })
})
