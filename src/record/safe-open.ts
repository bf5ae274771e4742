// Opening an output file the way trace files are opened: mode 0600, never through a symbolic
// link (O_NOFOLLOW), never over an existing file unless forced (O_EXCL), one clear error each.
import {closeSync, constants, createWriteStream, fchmodSync, lstatSync, openSync, unlinkSync, type WriteStream} from 'node:fs'
import {EnvironmentError, UsageError} from '../errors.js'

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink()
  } catch {
    return false
  }
}

/** A new file descriptor for writing `path`, created 0600 (an existing file with --force is truncated and set to 0600). */
export function openOutputFd(path: string, opts: {force?: boolean} = {}): number {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | (opts.force ? constants.O_TRUNC : constants.O_EXCL)
  let fd: number
  try {
    fd = openSync(path, flags, 0o600)
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    if ((e.code === 'EEXIST' && isSymlink(path)) || e.code === 'ELOOP') throw new UsageError(`${path} is a symbolic link; pausetrace does not write through links, give the real path.`)
    if (e.code === 'EEXIST') throw new UsageError(`${path} already exists; choose another name or pass --force to overwrite it.`)
    if (e.code === 'ENOENT') throw new UsageError(`cannot create ${path}: its directory does not exist.`)
    if (e.code === 'EISDIR') throw new UsageError(`${path} is a directory; give a file name.`)
    if (e.code === 'EACCES') throw new UsageError(`cannot create ${path}: permission denied.`)
    throw new EnvironmentError(`cannot create ${path}: ${e.message}`)
  }
  try {
    fchmodSync(fd, 0o600)
  } catch (err) {
    closeSync(fd)
    throw new EnvironmentError(`cannot set mode 0600 on ${path}: ${(err as Error).message}`)
  }
  return fd
}

export interface SafeOutput {
  stream: WriteStream
  /** Removes what was written: for an output that failed half way. */
  discard(): Promise<void>
  /** Resolves once every byte is written and the file closed; rejects with a write error. */
  close(): Promise<void>
}

export function openOutputStream(path: string, opts: {force?: boolean} = {}): SafeOutput {
  const fd = openOutputFd(path, opts)
  const stream = createWriteStream('', {fd, autoClose: true})
  let error: Error | undefined
  stream.on('error', (err) => {
    error ??= err
  })
  const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()))
  return {
    stream,
    async close() {
      if (!stream.closed) stream.end()
      await closed
      if (error) throw new EnvironmentError(`cannot write ${path}: ${error.message}`)
    },
    async discard() {
      stream.destroy()
      await closed
      try {
        unlinkSync(path)
      } catch {
        // already gone
      }
    },
  }
}
