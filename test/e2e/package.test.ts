// The npm package as a user gets it. The project is copied (without node_modules, dist, .git) and
// packed there, so prepack's build and oclif manifest never touch the shared tree; the tarball is
// installed with `npm install -g --prefix` and run from another directory in the environment sudo
// gives root. Then: help, completion and the generated reference; and the DaemonSet's container
// reproduced without a container engine (an overlay root of the Debian trixie tree with
// bpftrace 0.23 that CI builds, the image's layout, the manifest's capabilities, volumes, env and
// command).
import assert from 'node:assert/strict'
import {execFileSync, spawn, type ChildProcess} from 'node:child_process'
import {cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {gunzipSync} from 'node:zlib'
import os from 'node:os'
import path from 'node:path'
import {parseAllDocuments} from 'yaml'
import {BPFTRACES, CI_ROOT, ROOT, requireBpftrace, requireTracing} from '../helpers/e2e.js'
import {assertValidRecords} from '../helpers/schema.js'
import {cleanupAll, nsLink, startNsSandbox, type NsSandbox} from '../helpers/sandboxes.js'
import {EXIT_CODE_HELP} from '../../src/errors.js'
import {findOnPath} from '../../src/util/which.js'

type Rec = Record<string, any>

const PKG = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {name: string; version: string; dependencies: Record<string, string>}
/** What `sudo` leaves of PATH (Debian's secure_path without /usr/local). */
const SUDO_PATH = '/usr/sbin:/usr/bin:/sbin:/bin'
/** A root PATH without node: on this machine node is /usr/bin/node, so the trap leaves /usr/bin out. */
const TRAP_PATH = '/usr/sbin:/sbin'

// --- processes ----------------------------------------------------------------------------------

interface Done {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

const children = new Set<ChildProcess>()

/** Runs a command in its own process group (killed whole on timeout or at the end of the file). */
function run(cmd: string, args: string[], opts: {cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number} = {}): Promise<Done> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true})
    children.add(child)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const timer = setTimeout(() => {
      killGroup(child)
      reject(new Error(`${cmd} ${args.join(' ')} did not finish in ${opts.timeoutMs ?? 120_000} ms; stderr: ${stderr.slice(-2000)}`))
    }, opts.timeoutMs ?? 120_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      children.delete(child)
      resolve({code, signal, stdout, stderr})
    })
  })
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid) process.kill(-child.pid, 'SIGKILL')
  } catch {
    // gone
  }
}

/** The environment without what `npm test` exports (npm_config_local_prefix would aim a nested npm at the shared tree). */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'INIT_CWD' && k !== 'NODE_ENV') env[k] = v
  return {...env, ...extra}
}

/** What `sudo pausetrace …` runs with after env_reset; node's directory only if that PATH has none. */
function sudoEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const withNode = findOnPath('node', SUDO_PATH) ? SUDO_PATH : `${path.dirname(process.execPath)}:${SUDO_PATH}`
  return {PATH: withNode, HOME: '/root', USER: 'root', LOGNAME: 'root', SHELL: '/bin/bash', SUDO_USER: 'dev', SUDO_UID: '1000', SUDO_GID: '1000', SUDO_COMMAND: '/usr/local/bin/pausetrace', ...extra}
}

/** Help text with oclif's wrapping undone: line breaks, indentation and `\` continuations. */
const norm = (s: string): string => s.replace(/\s*\\\n\s*/g, ' ').replace(/\s+/g, ' ').trim()

/** `node --version` of a node binary (this one without running it). */
function execVersion(node: string): string {
  if (realpathSync(node) === realpathSync(process.execPath)) return process.version
  return execFileSync(node, ['--version']).toString().trim()
}

// --- the package, packed and installed once for this file ---------------------------------------

interface Installed {
  tarball: string
  entries: string[]
  prefix: string
  pkgDir: string
  bin: string
  how: string
}

const EXCLUDE = new Set(['node_modules', '.git', 'dist', 'tmp', 'oclif.manifest.json'])

async function packAndInstall(work: string): Promise<Installed> {
  const stage = path.join(work, 'stage')
  cpSync(ROOT, stage, {
    recursive: true,
    verbatimSymlinks: true,
    filter: (src) => {
      const rel = path.relative(ROOT, src)
      return !(EXCLUDE.has(rel) || rel.endsWith('.tgz') || /(^|\/)\.build$/.test(rel))
    },
  })
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(stage, 'node_modules'))
  const out = path.join(work, 'out')
  mkdirSync(out)
  const pack = await run('npm', ['pack', '--pack-destination', out], {cwd: stage, env: cleanEnv(), timeoutMs: 300_000})
  assert.equal(pack.code, 0, `npm pack failed:\n${pack.stdout.slice(-3000)}\n${pack.stderr.slice(-3000)}`)
  assert.ok(!existsSync(path.join(stage, 'oclif.manifest.json')), 'postpack removes the manifest from the packed tree')
  const tgz = readdirSync(out).filter((f) => f.endsWith('.tgz'))
  assert.deepEqual(tgz, [`${PKG.name}-${PKG.version}.tgz`])
  const tarball = path.join(out, tgz[0])
  const list = await run('tar', ['-tzf', tarball])
  assert.equal(list.code, 0, list.stderr)
  const entries = list.stdout.split('\n').filter((l) => l !== '').map((l) => l.replace(/^package\//, '')).sort()

  const prefix = path.join(work, 'prefix')
  const args = ['install', '-g', '--prefix', prefix, tarball, '--no-audit', '--no-fund', '--loglevel=error']
  // Offline from the npm cache when it holds every dependency; else the registry (allowed).
  let how = 'offline, from the npm cache'
  let inst = await run('npm', [...args, '--offline'], {cwd: work, env: cleanEnv(), timeoutMs: 300_000})
  if (inst.code !== 0) {
    how = `from the registry (the cache lacked something: ${/ENOTCACHED|E[A-Z]+/.exec(inst.stderr)?.[0] ?? 'see npm output'})`
    inst = await run('npm', [...args, '--prefer-offline'], {cwd: work, env: cleanEnv(), timeoutMs: 300_000})
  }
  assert.equal(inst.code, 0, `npm install -g failed:\n${inst.stderr.slice(-3000)}`)
  const pkgDir = path.join(prefix, 'lib/node_modules', PKG.name)
  return {tarball, entries, prefix, pkgDir, bin: path.join(prefix, 'bin/pausetrace'), how}
}

describe('e2e: the npm package (pack, install -g, run under sudo’s environment)', function () {
  this.timeout(600_000)
  let work: string
  let cwd: string
  let pkg: Installed
  let manifest: {version: string; commands: Record<string, Rec>}
  const sandboxes: NsSandbox[] = []

  before(async function () {
    this.timeout(900_000)
    work = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-package-'))
    cwd = path.join(work, 'elsewhere')
    mkdirSync(cwd)
    const t0 = Date.now()
    pkg = await packAndInstall(work)
    manifest = JSON.parse(readFileSync(path.join(pkg.pkgDir, 'oclif.manifest.json'), 'utf8')) as typeof manifest
    console.log(`    packed and installed ${pkg.how} in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  })

  after(async () => {
    for (const c of children) killGroup(c)
    await cleanupAll()
    if (work) rmSync(work, {recursive: true, force: true})
  })

  const cli = (args: string[], env: NodeJS.ProcessEnv = sudoEnv(), timeoutMs = 120_000): Promise<Done> => run(pkg.bin, args, {cwd, env, timeoutMs})

  describe('the tarball', () => {
    it('carries bin/run.js, dist/ (every module), bpf/, the lab C sources, the oclif manifest and README; not tests, benchmarks or sources', () => {
      const stage = path.join(work, 'stage')
      const has = (e: string): boolean => pkg.entries.includes(e)
      for (const e of ['package.json', 'README.md', 'bin/run.js', 'oclif.manifest.json', 'src/lab/pause.c']) assert.ok(has(e), `${e} is in the tarball`)
      for (const f of readdirSync(path.join(stage, 'bpf'))) assert.ok(has(`bpf/${f}`), `bpf/${f} is in the tarball`)
      const sources = readdirSync(path.join(stage, 'src'), {recursive: true, encoding: 'utf8'}).filter((f) => /\.tsx?$/.test(f) && !f.endsWith('.d.ts'))
      assert.ok(sources.length > 20)
      for (const f of sources) assert.ok(has(`dist/${f.replace(/\.tsx?$/, '.js')}`), `dist/${f.replace(/\.tsx?$/, '.js')} (from src/${f}) is in the tarball`)
      // files the code opens next to itself at run time: new URL('../../X', import.meta.url)
      const runtime = new Set<string>()
      for (const f of sources) for (const m of readFileSync(path.join(stage, 'src', f), 'utf8').matchAll(/new URL\('\.\.\/\.\.\/([^']+)', import\.meta\.url\)/g)) runtime.add(m[1])
      assert.ok(runtime.has('src/lab/pause.c') && runtime.has('bpf/'), `runtime files found: ${[...runtime].join(', ')}`)
      for (const r of runtime) assert.ok(r.endsWith('/') ? pkg.entries.some((e) => e.startsWith(r)) : has(r), `${r} (opened at run time) is in the tarball`)
      const forbidden = pkg.entries.filter((e) => /^(test|bench|scripts|deploy|docs|\.ci|node_modules|vagrant)\//.test(e) || /\.tsx?$/.test(e) || e === 'bin/dev.js' || e === 'tsconfig.json' || e.endsWith('.tgz'))
      assert.deepEqual(forbidden, [])
    })

    it('ships an oclif manifest of this version listing every command, each with examples', () => {
      const stage = path.join(work, 'stage')
      const ids = readdirSync(path.join(stage, 'src/commands'), {recursive: true, encoding: 'utf8'})
        .filter((f) => /\.tsx?$/.test(f))
        .map((f) => f.replace(/\.tsx?$/, '').replace(/(^|\/)index$/, '').split('/').join(':'))
        .sort()
      assert.equal(manifest.version, PKG.version)
      assert.deepEqual(Object.keys(manifest.commands).sort(), ids)
      for (const id of ids) assert.ok((manifest.commands[id].examples ?? []).length > 0, `${id} has examples`)
    })
  })

  describe('installed with npm install -g --prefix', () => {
    it('links bin/pausetrace to the package and installs the runtime dependencies only', () => {
      assert.ok(lstatSync(pkg.bin).isSymbolicLink())
      assert.equal(realpathSync(pkg.bin), realpathSync(path.join(pkg.pkgDir, 'bin/run.js')))
      for (const dep of Object.keys(PKG.dependencies)) assert.ok(existsSync(path.join(pkg.pkgDir, 'node_modules', dep, 'package.json')), `${dep} installed`)
      for (const dev of ['typescript', 'tsx', 'mocha', 'ink-testing-library', 'ajv']) assert.ok(!existsSync(path.join(pkg.pkgDir, 'node_modules', dev)), `${dev} (a dev dependency) not installed`)
    })

    it('--version from another directory with PATH and HOME as sudo leaves them', async () => {
      const env = sudoEnv()
      const node = findOnPath('node', env.PATH) as string
      const r = await cli(['--version'], env)
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout, `pausetrace/${PKG.version} ${process.platform}-${process.arch} node-${execVersion(node)}\n`)
      assert.equal(r.stderr, '')
    })

    it('the sudo trap: with no node on root’s PATH the shebang fails; doctor, run with node directly, says why and how to fix it', async () => {
      const trap = sudoEnv({PATH: TRAP_PATH})
      assert.equal(findOnPath('node', TRAP_PATH), undefined, 'the trap PATH has no node')
      const r = await cli(['--version'], trap)
      assert.equal(r.code, 127)
      assert.equal(r.stdout, '')
      assert.match(r.stderr, /^\/usr\/bin\/env: .node.: No such file or directory\n$/)

      const node = realpathSync(process.execPath)
      const d = await run(node, [path.join(pkg.pkgDir, 'bin/run.js'), 'doctor', '--json'], {cwd, env: trap})
      const report = JSON.parse(d.stdout) as Rec
      assert.equal(d.code, report.ok ? 0 : 3, d.stderr)
      assert.deepEqual(report.node, {path: node, version: process.version})
      assert.deepEqual(report.checks.find((c: Rec) => c.name === 'node'), {
        name: 'node',
        required: false,
        ok: false,
        fix: 'run it as: sudo env "PATH=$PATH" pausetrace …  (sudo then keeps your PATH), or install Node.js 20.19+ system-wide (a distribution or NodeSource package, in /usr/bin) so that root\'s PATH finds it',
        detail: `node ${process.version} (${node}) runs pausetrace, but root's PATH (${TRAP_PATH}; set by sudo for dev) has no node: \`sudo pausetrace\` fails before it starts with "/usr/bin/env: 'node': No such file or directory"`,
      })
      const text = await run(node, [path.join(pkg.pkgDir, 'bin/run.js'), 'doctor'], {cwd, env: trap})
      assert.match(text.stdout, /^info node {7}node v\S+ \(.+\) runs pausetrace, but root's PATH .+\n {16}fix: run it as: sudo env "PATH=\$PATH" pausetrace …/m)

      // the fix: `sudo env "PATH=$PATH" pausetrace …` keeps the user's PATH, node included
      const fixed = await cli(['--version'], sudoEnv({PATH: `${path.dirname(node)}:${TRAP_PATH}`}))
      assert.equal(fixed.code, 0, fixed.stderr)
      assert.match(fixed.stdout, new RegExp(`^pausetrace/${PKG.version.replace(/\./g, '\\.')} `))
    })

    it('doctor --json (root): every check passes, from the installed copy, with the node and bpftrace of root’s PATH', async function () {
      requireTracing(this)
      const env = sudoEnv()
      const r = await cli(['doctor', '--json'], env)
      const report = JSON.parse(r.stdout) as Rec
      assert.equal(r.code, 0, `${r.stderr}\n${r.stdout}`)
      assert.equal(report.ok, true)
      assert.deepEqual(report.pausetrace, {version: PKG.version, root: realpathSync(pkg.pkgDir)})
      const node = realpathSync(findOnPath('node', env.PATH) as string)
      assert.deepEqual(report.node, {path: node, version: execVersion(node)})
      assert.deepEqual([report.bpftrace.command, report.bpftrace.source], [findOnPath('bpftrace', env.PATH), 'path'])
      assert.deepEqual(report.checks.map((c: Rec) => c.name), ['privileges', 'tracefs', 'btf', 'bpftrace', 'probes', 'node', 'runtimes', 'cri'])
      assert.deepEqual(report.checks.filter((c: Rec) => c.required && !c.ok), [])
      const nodeCheck = report.checks.find((c: Rec) => c.name === 'node')
      assert.equal(nodeCheck.ok, true, nodeCheck.detail)
      assert.equal(nodeCheck.detail, `node ${execVersion(node)} (${node}) runs pausetrace; \`sudo pausetrace\` finds the same node on root's PATH (set by sudo for dev)`)
    })

    it('pods --json (root): lists a namespace sandbox started for the test, with its pause', async function () {
      requireTracing(this)
      const sb = await startNsSandbox({sharePid: true})
      sandboxes.push(sb)
      const r = await cli(['pods', '--json'])
      assert.equal(r.code, 0, r.stderr)
      const views = JSON.parse(r.stdout) as Rec[]
      const v = views.find((x) => x.pausePid === sb.pausePid)
      assert.ok(v, `the sandbox of pause ${sb.pausePid} is listed: ${r.stdout.slice(0, 800)}`)
      const {processes, zombies, ...record} = v
      assertValidRecords([record])
      assert.deepEqual([record.id, record.runtime, record.pod, record.sharedNamespaces, record.sharedPidNamespace], [`netns:${nsInode(sb.pausePid, 'net')}`, 'namespaces', null, ['ipc', 'mnt', 'net', 'uts'], false])
      assert.deepEqual(processes.filter((p: Rec) => p.pid === sb.pausePid).map((p: Rec) => [p.innerPid, p.role, p.comm]), [[1, 'pause', 'pause']])
      assert.deepEqual(zombies, [])
    })
  })

  describe('help that teaches', () => {
    it('every command’s --help shows its examples and the exit-code table', async () => {
      const ids = Object.keys(manifest.commands).sort()
      const helps = await Promise.all(ids.map((id) => cli([...id.split(':'), '--help'])))
      for (const [i, id] of ids.entries()) {
        const h = helps[i]
        assert.equal(h.code, 0, `${id} --help: ${h.stderr}`)
        const lines = h.stdout.split('\n')
        assert.ok(lines.includes('EXAMPLES'), `${id} --help has an EXAMPLES section`)
        for (const ex of manifest.commands[id].examples as Array<string | {command: string; description: string}>) {
          const command = (typeof ex === 'string' ? ex : ex.command).replace(/<%= config\.bin %>/g, 'pausetrace').replace(/<%= command\.id %>/g, id.split(':').join(' '))
          assert.ok(norm(h.stdout.slice(h.stdout.indexOf('\nEXAMPLES'))).includes(norm(command)), `${id} --help shows the example ${command}`)
        }
        // the table: codes 0-4 in order, 2-4 meaning what CONTRACT.md fixes (0 and 1 may be worded for the command)
        const at = lines.findIndex((l) => l.trim() === 'EXIT CODES')
        assert.ok(at >= 0, `${id} --help has an EXIT CODES table:\n${h.stdout}`)
        const rows = lines.slice(at + 1, lines.indexOf('EXAMPLES')).map((l) => /^\s*(\d)\s{2,}(\S.*)$/.exec(l)).filter((m) => m !== null)
        assert.deepEqual(rows.map((m) => Number(m[1])), [0, 1, 2, 3, 4], `${id} --help lists exit codes 0-4`)
        assert.deepEqual(rows.slice(2).map((m) => /^(usage|environment|trace failed)/.exec(m[2])?.[1]), ['usage', 'environment', 'trace failed'], `${id}: exit codes 2-4 as CONTRACT.md has them`)
        if (!/^\s*EXIT CODES\s*\n\s*0 {2}ok \(/m.test(h.stdout)) continue
        assert.ok(norm(h.stdout).includes(norm(EXIT_CODE_HELP)), `${id} --help shows the whole shared exit-code table:\n${h.stdout}`)
      }
      const top = await cli(['--help'])
      for (const id of ids) assert.match(top.stdout, new RegExp(`^  ${id.split(':').join(' ')} `, 'm'))
    })

    it('autocomplete bash prints the setup instructions, and the completion it installs knows the commands and flags', async () => {
      const home = path.join(work, 'home')
      mkdirSync(home, {recursive: true})
      const env = sudoEnv({HOME: home})
      const r = await cli(['autocomplete', 'bash'], env)
      assert.equal(r.code, 0, r.stderr)
      assert.ok(r.stdout.includes('Setup Instructions for PAUSETRACE CLI Autocomplete'), r.stdout)
      assert.ok(r.stdout.includes('printf "$(pausetrace autocomplete script bash)" >> ~/.bashrc; source ~/.bashrc'), r.stdout)
      const script = await cli(['autocomplete', 'script', 'bash'], env)
      const setup = path.join(home, '.cache/pausetrace/autocomplete/bash_setup')
      assert.equal(script.stdout.trim(), `PAUSETRACE_AC_BASH_SETUP_PATH=${setup} && test -f $PAUSETRACE_AC_BASH_SETUP_PATH && source $PAUSETRACE_AC_BASH_SETUP_PATH; # pausetrace autocomplete setup`)
      const complete = async (...words: string[]): Promise<string[]> => {
        const b = await run('bash', ['-c', `${script.stdout.trim()}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _pausetrace_autocomplete; printf '%s\\n' "\${COMPREPLY[@]}"`], {env})
        assert.equal(b.code, 0, b.stderr)
        return b.stdout.split('\n').filter((l) => l !== '').sort()
      }
      assert.deepEqual(await complete('pausetrace', ''), [...Object.keys(manifest.commands), 'autocomplete'].sort())
      assert.deepEqual(await complete('pausetrace', 're'), Object.keys(manifest.commands).filter((c) => c.startsWith('re')).sort())
      assert.deepEqual(await complete('pausetrace', 'record', '--'), Object.keys(manifest.commands.record.flags).map((f) => `--${f}`).sort())
    })

    it('docs/commands.md is what scripts/gen-docs.ts makes of the commands’ help', async () => {
      const r = await run(process.execPath, ['--import', 'tsx', 'scripts/gen-docs.ts', '--check'], {cwd: ROOT, env: cleanEnv()})
      assert.equal(r.code, 0, r.stderr)
    })
  })

  describe('the DaemonSet’s container, reproduced without a container engine', () => {
    const trixie = BPFTRACES.find((b) => b.label.startsWith('0.23')) ?? BPFTRACES[1]
    const lower = path.join(CI_ROOT, 'trixie')
    const ds = parseAllDocuments(readFileSync(path.join(ROOT, 'deploy/daemonset.yaml'), 'utf8')).map((d) => d.toJS() as Rec).find((d) => d?.kind === 'DaemonSet') as Rec
    const spec = ds.spec.template.spec as Rec
    const container = spec.containers[0] as Rec
    let n = 0

    before(function () {
      requireTracing(this)
      requireBpftrace(this, trixie)
    })

    /** Runs COMMAND as the container would: image layout, securityContext, volumes, env. */
    async function inContainer(command: string[], opts: {env?: Record<string, string>; caps?: string[]; traces?: string} = {}): Promise<Done & {terminationLog: string}> {
      const dir = path.join(work, `container-${++n}`)
      mkdirSync(dir)
      writeFileSync(path.join(dir, 'termination-log'), '')
      const caps = (opts.caps ?? container.securityContext.capabilities.add as string[]).map((c) => `+${c.toLowerCase()}`).join(',')
      // A node without containerd has no socket to mount (the manifest's type: Socket would keep
      // the pod off it); the container then runs as on a node whose runtime pausetrace finds alone.
      const noCri = (m: Rec): boolean => ((spec.volumes as Rec[]).find((x) => x.name === m.name) as Rec).hostPath?.type === 'Socket' && !existsSync(m.mountPath as string)
      const skipped = (container.volumeMounts as Rec[]).filter(noCri)
      const volumes = (container.volumeMounts as Rec[]).filter((m) => !noCri(m)).map((m) => {
        const v = (spec.volumes as Rec[]).find((x) => x.name === m.name) as Rec
        if (v.emptyDir) return `tmpfs - ${m.mountPath} rw`
        let src = v.hostPath.path as string
        if (src === '/var/lib/pausetrace') src = opts.traces ?? mkdtempSync(path.join(dir, 'traces-'))
        // a node without a kubelet has no /var/log/pods; an empty directory stands in
        else if (src === '/var/log/pods' && !existsSync(src)) src = mkdtempSync(path.join(dir, 'pod-logs-'))
        assert.ok(existsSync(src), `hostPath ${src} exists on this node`)
        return `bind ${src} ${m.mountPath} ${m.readOnly ? 'ro' : 'rw'}`
      })
      const env: Record<string, string> = {PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', NODE_ENV: 'production'}
      for (const e of container.env as Rec[]) env[e.name] = e.valueFrom?.fieldRef?.fieldPath === 'spec.nodeName' ? 'node-test' : String(e.value)
      if (skipped.length) delete env.PAUSETRACE_CRI_SOCKET
      Object.assign(env, opts.env)
      const r = await run('unshare', ['--mount', '--propagation', 'private', '--', 'bash', '-c', CONTAINER_SH, 'container', '/usr/bin/env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...command], {
        env: cleanEnv({LOWER: lower, WORK: dir, NODE_BIN: realpathSync(process.execPath), PKGDIR: pkg.pkgDir, CAPS: caps, VOLUMES: volumes.join('\n')}),
        timeoutMs: 120_000,
      })
      return {...r, terminationLog: readFileSync(path.join(dir, 'termination-log'), 'utf8')}
    }

    /** Sends SIGCONT to the pause every 200 ms until `until` settles; returns how many were sent. */
    async function poke(pid: number, until: Promise<unknown>): Promise<number> {
      let done = false
      void until.finally(() => (done = true))
      let sent = 0
      while (!done) {
        process.kill(pid, 'SIGCONT')
        sent++
        await new Promise((r) => setTimeout(r, 200))
      }
      return sent
    }

    it('doctor passes with only the manifest’s capabilities (BPF, PERFMON, SYS_PTRACE, SYS_NICE) and bpftrace 0.23; without PERFMON it names the missing capability', async () => {
      const r = await inContainer(['pausetrace', 'doctor', '--json'])
      const report = JSON.parse(r.stdout) as Rec
      assert.equal(r.code, 0, `${r.stderr}\n${r.stdout}`)
      assert.equal(report.ok, true)
      assert.match(report.bpftrace.version, /^v0\.23\./)
      assert.deepEqual([report.bpftrace.command, report.pausetrace.root, report.node.path], ['/usr/bin/bpftrace', '/usr/local/lib/node_modules/pausetrace', '/usr/local/bin/node'])
      // no container runtime and no CRI socket inside the reproduced container: both optional checks say so
      assert.deepEqual(report.checks.filter((c: Rec) => !c.ok).map((c: Rec) => c.name), ['runtimes', 'cri'])

      const weaker = await inContainer(['pausetrace', 'doctor', '--json'], {caps: ['BPF', 'SYS_PTRACE']})
      const bad = JSON.parse(weaker.stdout) as Rec
      assert.equal(weaker.code, 3)
      // root, but a capability short: doctor names it instead of letting bpftrace fail obscurely
      assert.deepEqual(bad.checks.filter((c: Rec) => !c.ok).map((c: Rec) => c.name), ['privileges', 'probes', 'runtimes', 'cri'])
      assert.equal(bad.checks[0].detail, 'running as root, but without CAP_PERFMON (a container or service that drops capabilities)')
    })

    it('its command with OUTPUT=file writes /var/lib/pausetrace/NODE-TIME.jsonl.gz: a whole trace holding a signal to a sandbox’s pause', async () => {
      const sb = await startNsSandbox({sharePid: true})
      sandboxes.push(sb)
      const traces = mkdtempSync(path.join(work, 'traces-'))
      const running = inContainer([...container.command, ...container.args], {env: {OUTPUT: 'file', DURATION: '6s'}, traces})
      const sent = await poke(sb.pausePid, running)
      const r = await running
      assert.equal(r.code, 0, `${r.stderr}\n${r.terminationLog}`)
      const files = readdirSync(traces)
      assert.equal(files.length, 1, files.join(', '))
      assert.match(files[0], /^node-test-\d{8}T\d{6}Z\.jsonl\.gz$/)
      const records = gunzipSync(readFileSync(path.join(traces, files[0]))).toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Rec)
      assertValidRecords(records)
      assert.equal(records[0].type, 'header')
      assert.deepEqual([records.at(-1)?.type, records.at(-1)?.reason], ['footer', 'duration'])
      assert.ok(records.some((x) => x.type === 'sandbox' && x.pausePid === sb.pausePid), 'the sandbox record of the pause')
      const conts = records.filter((x) => x.type === 'event' && x.kind === 'signal' && x.sig === 18 && x.to?.pid === sb.pausePid && x.from?.pid === process.pid)
      assert.ok(conts.length >= 1 && conts.length <= sent, `${conts.length} of ${sent} SIGCONTs recorded`)
      assert.equal(r.terminationLog, '')
    })

    it('its command with OUTPUT=stdout prints only records (the log is a trace file) and leaves the summary in the termination message', async () => {
      const r = await inContainer([...container.command, ...container.args], {env: {OUTPUT: 'stdout', DURATION: '4s'}})
      assert.equal(r.code, 0, `${r.stderr}\n${r.terminationLog}`)
      const records = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Rec)
      assertValidRecords(records)
      assert.deepEqual([records[0].type, records.at(-1)?.type, records.at(-1)?.reason], ['header', 'footer', 'duration'])
      // where the metrics are served (the DaemonSet's --metrics), then the summary
      assert.match(r.terminationLog, /^pausetrace: metrics at http:\/\/0\.0\.0\.0:9479\/metrics\npausetrace: \d+ events[^\n]* stopped: duration\n$/)
      assert.equal(r.stderr, '')
    })

    it('pods --json in the container sees a sandbox of the node, with its pause', async () => {
      const sb = await startNsSandbox({sharePid: true})
      sandboxes.push(sb)
      const r = await inContainer(['pausetrace', 'pods', '--json'])
      assert.equal(r.code, 0, r.stderr)
      const v = (JSON.parse(r.stdout) as Rec[]).find((x) => x.pausePid === sb.pausePid)
      assert.ok(v, r.stdout.slice(0, 800))
      assert.deepEqual([v.id, v.sharedNamespaces, v.processes.find((p: Rec) => p.pid === sb.pausePid)?.innerPid], [`netns:${nsInode(sb.pausePid, 'net')}`, ['ipc', 'mnt', 'net', 'uts'], 1])
    })
  })
})

function nsInode(pid: number, ns: 'net' | 'pid'): number {
  return Number(/\[(\d+)\]/.exec(nsLink(pid, ns))?.[1])
}

/**
 * The container, as a runtime would make it: an overlay over the Debian tree (so nothing is
 * written to it), the image's layout (node and pausetrace under /usr/local), a read-only root,
 * the node's /proc (hostPID), a read-only sysfs, a small /dev with a termination-log, the
 * manifest's volumes, then chroot with the bounding set cut to the manifest's capabilities.
 * No seccomp or AppArmor profile: the manifest asks for Unconfined.
 */
const CONTAINER_SH = String.raw`set -euo pipefail
root="$WORK/merged"
mkdir -p "$WORK/upper" "$WORK/work" "$root"
mount -t overlay overlay -o "lowerdir=$LOWER,upperdir=$WORK/upper,workdir=$WORK/work" "$root"
mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules/pausetrace" "$root/proc" "$root/sys" "$root/dev"
touch "$root/usr/local/bin/node"
ln -sfn ../lib/node_modules/pausetrace/bin/run.js "$root/usr/local/bin/pausetrace"
# a socket (the CRI's) is bound onto a file, everything else onto a directory
while read -r kind src dst mode; do
  if [ -S "$src" ]; then mkdir -p "$(dirname "$root$dst")" && touch "$root$dst"; elif [ -n "$kind" ]; then mkdir -p "$root$dst"; fi
done <<<"$VOLUMES"
mount --bind "$root" "$root"
mount -o remount,bind,ro "$root"
mount --bind "$NODE_BIN" "$root/usr/local/bin/node"
mount --bind "$PKGDIR" "$root/usr/local/lib/node_modules/pausetrace"
mount -o remount,bind,ro "$root/usr/local/lib/node_modules/pausetrace"
mount -t proc proc "$root/proc"
mount -t sysfs -o ro sysfs "$root/sys"
mount -t tmpfs -o mode=755,nosuid tmpfs "$root/dev"
for n in null zero full random urandom; do touch "$root/dev/$n"; mount --bind "/dev/$n" "$root/dev/$n"; done
touch "$root/dev/termination-log"
mount --bind "$WORK/termination-log" "$root/dev/termination-log"
while read -r kind src dst mode; do
  [ -n "$kind" ] || continue
  case "$kind" in
    bind) mount --bind "$src" "$root$dst" ;;
    tmpfs) mount -t tmpfs tmpfs "$root$dst" ;;
  esac
  if [ "$mode" = ro ]; then mount -o remount,bind,ro "$root$dst"; fi
done <<<"$VOLUMES"
exec chroot "$root" setpriv --inh-caps=-all,$CAPS --ambient-caps=-all,$CAPS --bounding-set=-all,$CAPS -- "$@"
`
