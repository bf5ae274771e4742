// The lab's containers run from a directory holding a static busybox and the lab helper: podman
// takes it with --rootfs (nothing is pulled), the namespaces runtime puts its bin/ first on PATH,
// so both runtimes run the very same shell and sleep.
import {chmodSync, copyFileSync, mkdirSync, openSync, readSync, closeSync, symlinkSync} from 'node:fs'
import path from 'node:path'
import {EnvironmentError} from '../errors.js'
import {findOnPath} from '../util/which.js'

export const APPLETS = ['sh', 'sleep', 'kill', 'cat', 'echo', 'ps', 'ls', 'true', 'false', 'grep', 'readlink']

const PT_INTERP = 3

/**
 * Whether an ELF file asks for a program interpreter (is dynamically linked). Reads the program
 * headers of a 64-bit little-endian ELF; anything else counts as not static.
 */
export function isStaticElf(file: string): boolean {
  let fd: number
  try {
    fd = openSync(file, 'r')
  } catch {
    return false
  }
  try {
    const head = Buffer.alloc(64)
    if (readSync(fd, head, 0, 64, 0) < 64) return false
    if (head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 || head[5] !== 1) return false
    const phoff = Number(head.readBigUInt64LE(32))
    const phentsize = head.readUInt16LE(54)
    const phnum = head.readUInt16LE(56)
    if (phentsize < 4 || phnum === 0 || phnum > 256) return false
    const table = Buffer.alloc(phentsize * phnum)
    if (readSync(fd, table, 0, table.length, phoff) < table.length) return false
    for (let i = 0; i < phnum; i++) if (table.readUInt32LE(i * phentsize) === PT_INTERP) return false
    return true
  } finally {
    closeSync(fd)
  }
}

/** A statically linked busybox: on PATH, else /bin/busybox. */
export function findStaticBusybox(envPath = process.env.PATH ?? ''): string {
  const candidates = [findOnPath('busybox', envPath), '/bin/busybox', '/usr/bin/busybox'].filter((p): p is string => Boolean(p))
  const found = candidates.find(isStaticElf)
  if (found) return found
  if (candidates.length > 0) throw new EnvironmentError(`${candidates[0]} is linked dynamically, and the lab's containers need a static busybox; install it with: sudo apt-get install -y busybox-static`, 'BUSYBOX_NOT_STATIC')
  throw new EnvironmentError('busybox is not installed, and the lab runs its containers from it; install it with: sudo apt-get install -y busybox-static', 'BUSYBOX_MISSING')
}

/** Makes DIR/{bin,proc,sys,dev,tmp,etc} with busybox, its applets and labkit in bin/. */
export function makeRootfs(dir: string, busybox: string, labkit: string): void {
  for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp', 'etc']) mkdirSync(path.join(dir, d), {recursive: true, mode: 0o755})
  chmodSync(dir, 0o755)
  copyFileSync(busybox, path.join(dir, 'bin/busybox'))
  chmodSync(path.join(dir, 'bin/busybox'), 0o755)
  copyFileSync(labkit, path.join(dir, 'bin/labkit'))
  chmodSync(path.join(dir, 'bin/labkit'), 0o755)
  for (const a of APPLETS) symlinkSync('busybox', path.join(dir, 'bin', a))
}
