// One provisioning step for everyone: the README's test command, package.json's pretest, the
// quickstart and CI all go through scripts/provision.sh, and what CI removes to play a
// newcomer's machine is what the script installs again. The scripts pass shellcheck.
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import type {Context} from 'mocha'
import {findOnPath} from '../../src/util/which.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const read = (f: string): string => readFileSync(path.join(ROOT, f), 'utf8')

function run(cmd: string, args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    execFile(cmd, args, {cwd: ROOT, timeout: 60_000}, (err, stdout, stderr) => {
      const code: unknown = err ? (err as {code?: unknown}).code : 0
      resolve({code: typeof code === 'number' ? code : 1, stdout: String(stdout), stderr: String(stderr)})
    })
  })
}

/** The words of a bash array `NAME=( … )` (comments dropped). */
function bashArray(text: string, name: string): string[] {
  const m = new RegExp(`^${name}=\\(\\n?([\\s\\S]*?)^\\)`, 'm').exec(text)
  assert.ok(m, `${name}=( … ) in scripts/provision.sh`)
  return m[1]
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .flatMap((l) => l.split(/\s+/))
    .filter(Boolean)
}

function requireShellcheck(ctx: Context): string {
  const found = findOnPath('shellcheck')
  if (found) return found
  if (process.env.CI === 'true') throw new Error('shellcheck is not installed under CI=true: scripts/provision.sh --tests installs it')
  console.warn('    SKIPPED: shellcheck is not installed (sudo scripts/provision.sh --tests installs it)')
  ctx.skip()
}

describe('provisioning: one script for the quickstart, the test command and CI', () => {
  const provision = read('scripts/provision.sh')
  const packages = [...bashArray(provision, 'TRACE_PACKAGES'), ...bashArray(provision, 'LAB_PACKAGES'), ...bashArray(provision, 'TEST_PACKAGES')]

  it("the README's test command is npm test, whose pretest provisions for the tests; CI and the quickstart call the same", () => {
    const block = /## Two commands[\s\S]*?```sh\n([\s\S]*?)```/.exec(read('README.md'))?.[1] ?? ''
    assert.deepEqual(block.split('\n').filter(Boolean).map((l) => l.replace(/\s+#.*/, '')), ['sudo scripts/quickstart.sh', 'sudo npm test'])
    const pkg = JSON.parse(read('package.json')) as {scripts: Record<string, string>}
    assert.equal(pkg.scripts.pretest, 'bash scripts/provision.sh --tests')
    assert.match(read('.ci/run'), /^npm test 2>&1 \| tee "\$log"$/m)
    assert.match(read('scripts/quickstart.sh'), /^bash scripts\/provision\.sh /m)
  })

  it('installs every package the issue names, and CI removes only packages it installs again', () => {
    for (const p of ['bpftrace', 'gcc', 'libc6-dev', 'busybox-static', 'podman', 'runc', 'catatonit', 'tmux', 'strace', 'util-linux', 'iproute2', 'containerd', 'containernetworking-plugins']) assert.ok(packages.includes(p), p)
    const removed = /for p in ([a-z0-9 -]+); do\n\s+dpkg-query/.exec(read('.ci/run'))?.[1].split(' ') ?? []
    assert.deepEqual(removed, ['bpftrace', 'podman', 'runc', 'catatonit', 'busybox-static', 'tmux'])
    for (const p of removed) assert.ok(packages.includes(p), `${p} is removed by .ci/run but not installed by scripts/provision.sh`)
  })

  it('answers a wrong argument with one line and exit 2, --help with its usage', async () => {
    const bad = await run('bash', ['scripts/provision.sh', '--nope'])
    assert.deepEqual([bad.code, bad.stderr, bad.stdout], [2, 'provision: unknown argument: --nope (see --help)\n', ''])
    const help = await run('bash', ['scripts/provision.sh', '--help'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /^  scripts\/provision\.sh --tests +\+ the lab runtimes and the test tools/m)
  })

  it('the scripts pass shellcheck', async function () {
    const shellcheck = requireShellcheck(this)
    const r = await run(shellcheck, ['-x', 'scripts/provision.sh', 'scripts/quickstart.sh', '.ci/run', '.ci/setup-bpftrace-versions.sh'])
    assert.equal(r.code, 0, r.stdout + r.stderr)
  })
})
