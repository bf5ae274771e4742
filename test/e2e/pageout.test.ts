// Once attached, bpftrace's compiler libraries leave its memory (src/probe/pageout.ts), on each
// bpftrace version, and the trace goes on: a real record, bpftrace's /proc/PID/smaps before and after.
import assert from 'node:assert/strict'
import {readdirSync, mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {BPFTRACES, CI, childrenOf, hasFirstLine, killLeftovers, readRecords, requireBpftrace, requireTracing, runCli, waitFor} from '../helpers/e2e.js'
import {assertValidRecords} from '../helpers/schema.js'
import {compilerMappings} from '../../src/probe/pageout.js'
import {readText} from '../../src/proc/read.js'

/** kB resident of the compiler libraries' read-only mappings of a process (its smaps). */
function compilerRssKb(pid: number): {kb: number; files: Set<string>} {
  const smaps = readText(`/proc/${pid}/smaps`) ?? ''
  let kb = 0
  let inCompiler = false
  const files = new Set<string>()
  for (const line of smaps.split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      inCompiler = compilerMappings(line).length > 0
      if (inCompiler) files.add(line.split(/\s+/)[5])
    } else if (inCompiler && line.startsWith('Rss:')) kb += Number(line.split(/\s+/)[1])
  }
  return {kb, files}
}

/** Other processes that map one of these files: their pages are shared, and stay resident. */
function othersMapping(files: Set<string>, except: number): number[] {
  const pids: number[] = []
  for (const name of readdirSync('/proc')) {
    const pid = Number(name)
    if (!Number.isInteger(pid) || pid === except) continue
    const maps = readText(`/proc/${pid}/maps`)
    if (maps && [...files].some((f) => maps.includes(f))) pids.push(pid)
  }
  return pids
}

describe('e2e: bpftrace\'s compiler paged out once attached', function () {
  this.timeout(120_000)
  let dir: string

  before(function () {
    requireTracing(this)
  })
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-pageout-'))
  })
  afterEach(() => {
    killLeftovers()
    rmSync(dir, {recursive: true, force: true})
  })

  for (const bt of BPFTRACES) {
    it(`bpftrace ${bt.label}: LLVM and clang leave its resident memory, the trace goes on`, async function () {
      requireBpftrace(this, bt)
      const out = path.join(dir, 'trace.jsonl')
      const run = runCli(['record', '-o', out, '--all', '--bpftrace', bt.command])
      await waitFor(() => hasFirstLine(out), 60_000, 'the trace header')
      // the chroot wrappers run bpftrace under unshare: the process named bpftrace below record
      const below = (pid: number): number[] => childrenOf(pid).flatMap((c) => [c, ...below(c)])
      const bpftrace = below(run.child.pid as number).find((p) => readText(`/proc/${p}/comm`)?.trim() === 'bpftrace')
      assert.ok(bpftrace, 'bpftrace runs below record')
      const {files} = compilerRssKb(bpftrace)
      assert.ok(files.size >= 1, 'bpftrace maps LLVM or clang')
      const others = othersMapping(files, bpftrace)
      if (others.length > 0 && !CI) {
        console.warn(`    NOT CHECKED: processes ${others.join(' ')} map the same compiler libraries, so their pages stay resident`)
      } else {
        await waitFor(() => compilerRssKb(bpftrace).kb < 12_000, 10_000, `bpftrace's compiler pages to leave (now ${compilerRssKb(bpftrace).kb} kB)`)
      }
      run.child.kill('SIGINT')
      const {code} = await run.exited
      assert.equal(code, 0, run.stderr())
      const records = readRecords(out)
      assertValidRecords(records)
      const footer = records.at(-1) as Record<string, any>
      assert.equal(footer.type, 'footer')
      assert.equal(footer.lost, 0)
      assert.ok(footer.events > 0)
    })
  }
})
