// Builds the lab's workload helper (labkit.c beside this file) with gcc on first use, statically
// linked so that it runs inside a container whose root is a bare busybox directory, and caches it
// by the hash of its source next to the lab pause.
import {execFile} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {chmod, mkdir, readFile, rename, rm, stat} from 'node:fs/promises'
import {fileURLToPath} from 'node:url'
import path from 'node:path'
import {EnvironmentError} from '../errors.js'
import {PAUSE_CACHE_DIR} from './build-pause.js'

// Resolves to src/lab/labkit.c from both src/lab (tsx) and dist/lab (built).
export const LABKIT_SOURCE = fileURLToPath(new URL('../../src/lab/labkit.c', import.meta.url))

export interface EnsureLabkitOptions {
  source?: string
  cacheDir?: string
  gcc?: string
}

/** Path of the cached static labkit binary, compiling it first if this source has not been built. */
export async function ensureLabkit(opts: EnsureLabkitOptions = {}): Promise<string> {
  const source = opts.source ?? LABKIT_SOURCE
  const cacheDir = opts.cacheDir ?? PAUSE_CACHE_DIR
  let text: Buffer
  try {
    text = await readFile(source)
  } catch (error) {
    throw new EnvironmentError(`the lab helper source ${source} cannot be read (${(error as Error).message}); reinstall pausetrace.`, 'LABKIT_SOURCE_MISSING')
  }
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 12)
  const dir = path.join(cacheDir, `labkit-${hash}`)
  const binary = path.join(dir, 'labkit')
  if (await isExecutableFile(binary)) return binary
  try {
    await mkdir(dir, {recursive: true, mode: 0o755})
    await chmod(dir, 0o755)
  } catch (error) {
    throw new EnvironmentError(`cannot create ${dir} for the lab helper (${(error as Error).message}); run as root.`, 'LABKIT_CACHE')
  }
  const tmp = path.join(dir, `.labkit.tmp-${process.pid}-${randomBytes(4).toString('hex')}`)
  try {
    await compile(opts.gcc ?? 'gcc', source, tmp)
    await chmod(tmp, 0o755)
    await rename(tmp, binary)
  } finally {
    await rm(tmp, {force: true})
  }
  return binary
}

async function isExecutableFile(p: string): Promise<boolean> {
  try {
    const s = await stat(p)
    return s.isFile() && (s.mode & 0o111) !== 0
  } catch {
    return false
  }
}

function compile(gcc: string, source: string, out: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(gcc, ['-O2', '-Wall', '-Wextra', '-static', '-o', out, source], {timeout: 60_000}, (error, _stdout, stderr) => {
      if (!error) return resolve()
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new EnvironmentError('gcc was not found, and the lab helper must be compiled once; install it with: sudo apt-get install -y gcc libc6-dev', 'GCC_MISSING'))
      }
      const tail = String(stderr).trim().split('\n').slice(-5).join(' | ')
      reject(new EnvironmentError(`gcc could not build the static lab helper (${source}): ${tail || error.message}; a static build needs the C library's static archive: sudo apt-get install -y libc6-dev`, 'LABKIT_BUILD_FAILED'))
    })
  })
}
