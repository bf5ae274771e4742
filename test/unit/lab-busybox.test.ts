import assert from 'node:assert/strict'
import {lstatSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {APPLETS, isStaticElf, makeRootfs} from '../../src/lab/busybox.js'

const PT_LOAD = 1
const PT_INTERP = 3

/** A 64-bit little-endian ELF header followed by program headers of these types. */
function elf(types: number[], opts: {cls?: number; magic?: number} = {}): Buffer {
  const phentsize = 56
  const head = Buffer.alloc(64 + phentsize * types.length)
  head.writeUInt32BE(opts.magic ?? 0x7f454c46, 0)
  head[4] = opts.cls ?? 2
  head[5] = 1
  head.writeBigUInt64LE(64n, 32)
  head.writeUInt16LE(phentsize, 54)
  head.writeUInt16LE(types.length, 56)
  types.forEach((t, i) => head.writeUInt32LE(t, 64 + i * phentsize))
  return head
}

describe('lab busybox rootfs', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-lab-unit-'))
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('tells a static ELF from one that asks for an interpreter', () => {
    const write = (name: string, data: Buffer | string): string => {
      const p = path.join(dir, name)
      writeFileSync(p, data)
      return p
    }
    assert.equal(isStaticElf(write('static', elf([PT_LOAD, PT_LOAD]))), true)
    assert.equal(isStaticElf(write('dynamic', elf([PT_LOAD, PT_INTERP, PT_LOAD]))), false)
    assert.equal(isStaticElf(write('elf32', elf([PT_LOAD], {cls: 1}))), false)
    assert.equal(isStaticElf(write('script', '#!/bin/sh\necho not an ELF file at all, but long enough to have 64 bytes\n')), false)
    assert.equal(isStaticElf(write('short', elf([PT_LOAD]).subarray(0, 40))), false)
    assert.equal(isStaticElf(path.join(dir, 'missing')), false)
    // node itself is linked dynamically
    assert.equal(isStaticElf(process.execPath), false)
  })

  it('makes bin/ with busybox, labkit and one link per applet', () => {
    const busybox = path.join(dir, 'fake-busybox')
    const labkit = path.join(dir, 'fake-labkit')
    writeFileSync(busybox, 'bb', {mode: 0o600})
    writeFileSync(labkit, 'lk', {mode: 0o600})
    const root = path.join(dir, 'rootfs')
    makeRootfs(root, busybox, labkit)
    assert.deepEqual(readdirSync(root).sort(), ['bin', 'dev', 'etc', 'proc', 'sys', 'tmp'])
    assert.deepEqual(readdirSync(path.join(root, 'bin')).sort(), ['busybox', 'labkit', ...APPLETS].sort())
    for (const a of APPLETS) assert.equal(readlinkSync(path.join(root, 'bin', a)), 'busybox', a)
    assert.equal(statSync(path.join(root, 'bin/busybox')).mode & 0o777, 0o755)
    assert.equal(statSync(path.join(root, 'bin/labkit')).mode & 0o777, 0o755)
    assert.equal(lstatSync(path.join(root, 'bin/labkit')).isSymbolicLink(), false)
    assert.equal(statSync(root).mode & 0o777, 0o755)
  })
})
