// The benchmark's C workloads, built once into bench/.build (again when the source is newer).
import {execFileSync} from 'node:child_process'
import {mkdirSync, statSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const BENCH = path.join(ROOT, 'bench')
export const BUILD = path.join(BENCH, '.build')

/** bench/workloads/NAME.c → bench/.build/NAME, unless the binary is newer than its source. */
export function compile(name: string): string {
  mkdirSync(BUILD, {recursive: true})
  const src = path.join(BENCH, 'workloads', `${name}.c`)
  const out = path.join(BUILD, name)
  let fresh = false
  try {
    fresh = statSync(out).mtimeMs >= statSync(src).mtimeMs
  } catch {
    fresh = false
  }
  if (!fresh) execFileSync('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', out, src], {stdio: 'inherit'})
  return out
}
