// Builds the C workloads of test/e2e/workload once per test run (gcc), into test/e2e/.build.
import {execFileSync} from 'node:child_process'
import {mkdirSync, statSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import path from 'node:path'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const BUILD_DIR = path.join(ROOT, 'test/e2e/.build')

export function buildWorkload(name = 'sigwork'): string {
  const src = path.join(ROOT, 'test/e2e/workload', `${name}.c`)
  const out = path.join(BUILD_DIR, name)
  mkdirSync(BUILD_DIR, {recursive: true})
  let fresh = false
  try {
    fresh = statSync(out).mtimeMs >= statSync(src).mtimeMs
  } catch {
    fresh = false
  }
  if (!fresh) execFileSync('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-pthread', '-o', out, src], {stdio: 'inherit'})
  return out
}

export interface Manifest {
  pid: number
  pgid: number
  flood: number
  floodHandled: number
  thread: {tid: number}
  rt: {sig: number; value: number}
  esrch: {pid: number; errno: number}
  forks: Array<{pid: number; code: number}>
  sigkill: {pid: number}
  pidfd: {pid: number; fd: number}
  stopcont: {pid: number}
  nsinit: {pid: number; grandchild: {hostPid: number; innerPid: number; code: number}}
}
