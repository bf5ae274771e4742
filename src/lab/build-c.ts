// Builds one of the lab's C programs (a .c file beside this one) with gcc on first use and caches
// the binary by the hash of its source, so that every run uses the same known binary: the lab
// pause (build-pause.ts) and the lab helper (build-labkit.ts).
import {execFile} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {chmod, mkdir, readFile, rename, rm, stat} from 'node:fs/promises'
import path from 'node:path'
import {EnvironmentError} from '../errors.js'

export const LAB_CACHE_DIR = '/var/cache/pausetrace'

export interface BuildOptions {
  source?: string
  cacheDir?: string
  gcc?: string
}

/** One program: how it is built and what its errors say. */
export interface CProgram {
  /** the binary's file name (exec sets comm to it) and its cache folder's prefix: `NAME-HASH/NAME` */
  name: string
  source: string
  /** gcc flags besides -O2 -Wall -Wextra */
  gccFlags: string[]
  /** the prefix of its error codes: CODE_SOURCE_MISSING, CODE_CACHE, CODE_BUILD_FAILED */
  code: string
  /** how the errors name it */
  says: {
    /** "the lab pause source" */
    source: string
    /** "the lab pause binary" (cannot create DIR for …) */
    cache: string
    /** "the lab pause" (gcc was not found, and … must be compiled once) */
    compiled: string
    /** the message when gcc fails; `gccSaid` is the tail of its stderr */
    failed: (source: string, gccSaid: string) => string
  }
}

/** Path of the cached binary, compiling it first if this source has not been built. */
export async function ensureBuilt(program: CProgram, opts: BuildOptions = {}): Promise<string> {
  const source = opts.source ?? program.source
  const cacheDir = opts.cacheDir ?? LAB_CACHE_DIR
  let text: Buffer
  try {
    text = await readFile(source)
  } catch (error) {
    throw new EnvironmentError(`${program.says.source} ${source} cannot be read (${(error as Error).message}); reinstall pausetrace.`, `${program.code}_SOURCE_MISSING`)
  }
  // the flags are part of what was built: a binary cached before a flag changed is not reused
  const hash = createHash('sha256').update(text).update(`\0${program.gccFlags.join(' ')}`).digest('hex').slice(0, 12)
  const dir = path.join(cacheDir, `${program.name}-${hash}`)
  const binary = path.join(dir, program.name)
  if (await isExecutableFile(binary)) return binary

  try {
    await mkdirTree(dir)
  } catch (error) {
    throw new EnvironmentError(`cannot create ${dir} for ${program.says.cache} (${(error as Error).message}); run as root.`, `${program.code}_CACHE`)
  }
  const tmp = path.join(dir, `.${program.name}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`)
  try {
    await compile(program, opts.gcc ?? 'gcc', source, tmp)
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

function compile(program: CProgram, gcc: string, source: string, out: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(gcc, ['-O2', '-Wall', '-Wextra', ...program.gccFlags, '-o', out, source], {timeout: 60_000}, (error, _stdout, stderr) => {
      if (!error) return resolve()
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new EnvironmentError(`gcc was not found, and ${program.says.compiled} must be compiled once; install it with: sudo apt-get install -y gcc libc6-dev`, 'GCC_MISSING'))
      }
      const tail = String(stderr).trim().split('\n').slice(-5).join(' | ')
      reject(new EnvironmentError(program.says.failed(source, tail || error.message), `${program.code}_BUILD_FAILED`))
    })
  })
}
