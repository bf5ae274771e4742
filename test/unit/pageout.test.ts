// Paging out bpftrace's compiler libraries once attached (src/probe/pageout.ts): which mappings.
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {fixturePath} from '../helpers/fixtures.js'
import {compilerMappings} from '../../src/probe/pageout.js'

describe('paging out bpftrace\'s compiler', () => {
  it('takes the read-only mappings of LLVM and clang from a real bpftrace 0.17\'s /proc/PID/maps, nothing else', () => {
    // test/fixtures/bpftrace/maps-0.17.0.txt: lines of `grep -E 'libLLVM|libclang|libc.so|heap|bpftrace|libbcc_bpf' /proc/PID/maps`
    const ranges = compilerMappings(readFileSync(fixturePath('bpftrace/maps-0.17.0.txt'), 'utf8'))
    assert.deepEqual(ranges.map(([from, len]) => [from.toString(16), len.toString(16)]), [
      ['7f3be9000000', '6162000'], // libLLVM-14 text
      ['7f3bef162000', '1000'], // its guard page (---p): nothing resident, harmless
      ['7f3bef163000', '774000'], // its read-only data
      ['7f3befa00000', '1b12000'], // libclang-14 text
      ['7f3bf1512000', '21b000'],
    ])
  })

  it('knows the libraries of newer Debian and Ubuntu releases, and leaves the rest', () => {
    const line = (name: string, perms = 'r-xp'): string => `7f0000000000-7f0000100000 ${perms} 00000000 fe:00 1234 /usr/lib/x86_64-linux-gnu/${name}`
    const names = ['libLLVM.so.19.1', 'libLLVM-17.so.1', 'libclang-cpp.so.19.1', 'libclang-14.so.14.0.6', 'libc.so.6', 'libbcc.so.0', 'libLLVMSupport.a', 'libbpf.so.1']
    const taken = names.filter((n) => compilerMappings(line(n)).length === 1)
    assert.deepEqual(taken, ['libLLVM.so.19.1', 'libLLVM-17.so.1', 'libclang-cpp.so.19.1', 'libclang-14.so.14.0.6'])
    assert.deepEqual(compilerMappings(line('libLLVM-14.so.1', 'rw-p')), [])
    assert.deepEqual(compilerMappings('7f0000000000-7f0000100000 r-xp 00000000 00:00 0 [anon:libLLVM-14.so.1]'), [])
  })
})
