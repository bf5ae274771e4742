// Builds the lab's own pause (pause.c beside this file) with gcc on first use and caches it
// by the hash of its source, so every lab sandbox runs the same known PID 1.
import {execFile} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {chmod, mkdir, readFile, rename, rm, stat} from 'node:fs/promises'
import {fileURLToPath} from 'node:url'
import path from 'node:path'
import {EnvironmentError} from '../errors.js'

// Resolves to src/lab/pause.c from both src/lab (tsx) and dist/lab (built), as BPF_DIR does.
export const PAUSE_SOURCE = fileURLToPath(new URL('../../src/lab/pause.c', import.meta.url))
export const PAUSE_CACHE_DIR = '/var/cache/pausetrace'

export interface EnsurePauseOptions {
  source?: string
  cacheDir?: string
  gcc?: string
}

/** Path of the cached pause binary, compiling it first if this source has not been built. */
export async function ensurePause(opts: EnsurePauseOptions = {}): Promise<string> {
  const source = opts.source ?? PAUSE_SOURCE
  const cacheDir = opts.cacheDir ?? PAUSE_CACHE_DIR
  let text: Buffer
  try {
    text = await readFile(source)
  } catch (error) {
    throw new EnvironmentError(`the lab pause source ${source} cannot be read (${(error as Error).message}); reinstall pausetrace.`, 'PAUSE_SOURCE_MISSING')
  }
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 12)
  // The file itself is named "pause" so that exec already sets comm to "pause".
  const dir = path.join(cacheDir, `pause-${hash}`)
  const binary = path.join(dir, 'pause')
  if (await isExecutableFile(binary)) return binary

  try {
    await mkdirTree(dir)
  } catch (error) {
    throw new EnvironmentError(`cannot create ${dir} for the lab pause binary (${(error as Error).message}); run as root.`, 'PAUSE_CACHE')
  }
  const tmp = path.join(dir, `.pause.tmp-${process.pid}-${randomBytes(4).toString('hex')}`)
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

/** mkdir -p with every created level 0755 whatever the umask. */
async function mkdirTree(dir: string): Promise<void> {
  const parent = path.dirname(dir)
  if (parent !== dir) {
    try {
      await stat(parent)
    } catch {
      await mkdirTree(parent)
    }
  }
  try {
    await mkdir(dir, {mode: 0o755})
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return
    throw error
  }
  await chmod(dir, 0o755)
}

function compile(gcc: string, source: string, out: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(gcc, ['-O2', '-Wall', '-Wextra', '-o', out, source], {timeout: 60_000}, (error, _stdout, stderr) => {
      if (!error) return resolve()
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new EnvironmentError(`gcc was not found, and the lab pause must be compiled once; install it with: sudo apt-get install -y gcc libc6-dev`, 'GCC_MISSING'))
      }
      const tail = String(stderr).trim().split('\n').slice(-5).join(' | ')
      reject(new EnvironmentError(`gcc could not compile the lab pause (${source}): ${tail || error.message}; check that gcc and the C library headers (libc6-dev) are installed.`, 'PAUSE_BUILD_FAILED'))
    })
  })
}
