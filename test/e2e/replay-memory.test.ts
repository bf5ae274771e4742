// Memory stays flat however large the trace: replay and export a generated 200 MB trace (the
// records of a real recording repeated with advancing times) and read the child's peak RSS
// (VmHWM, written at exit by a preloaded module). Needs no root: it traces nothing.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {closeSync, createReadStream, mkdtempSync, openSync, rmSync, statSync, writeSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type {Readable} from 'node:stream'
import {fileURLToPath} from 'node:url'
import {CLI} from '../helpers/e2e.js'
import {TRACE_A, traceRecords} from '../helpers/replay.js'

const PRELOAD = fileURLToPath(new URL('../helpers/vmhwm-preload.mjs', import.meta.url))
const MB = 1e6

/** Writes a valid trace of about `bytes` bytes: the fixture's header and sandboxes, its events again and again, a footer. */
function generate(file: string, bytes: number): number {
  const recs = traceRecords(TRACE_A)
  const header = recs[0]
  const events = recs.filter((r) => r.type === 'event')
  const start = Date.parse(header.startedAt)
  const fd = openSync(file, 'w')
  let size = 0
  let t = 0
  let n = 0
  const put = (text: string): void => {
    writeSync(fd, text)
    size += Buffer.byteLength(text)
  }
  put(recs.filter((r) => r.type === 'header' || r.type === 'sandbox').map((r) => JSON.stringify(r) + '\n').join(''))
  while (size < bytes) {
    let chunk = ''
    for (let k = 0; k < 40; k++) {
      for (const e of events) {
        t += 1500
        n++
        chunk += JSON.stringify({...e, t, ts: new Date(start + t / 1e6).toISOString()}) + '\n'
      }
    }
    put(chunk)
  }
  put(JSON.stringify({type: 'footer', endedAt: new Date(start + t / 1e6).toISOString(), events: n, lost: 0, reason: 'interrupt'}) + '\n')
  closeSync(fd)
  return n
}

async function sha256(stream: Readable): Promise<{hash: string; bytes: number}> {
  const h = createHash('sha256')
  let bytes = 0
  for await (const chunk of stream) {
    h.update(chunk as Buffer)
    bytes += (chunk as Buffer).length
  }
  return {hash: h.digest('hex'), bytes}
}

interface Measured {
  code: number | null
  stderr: string
  peakKb: number
  out: {hash: string; bytes: number}
  seconds: number
}

/** Runs the CLI with stdout hashed as it streams (never held), and returns the child's peak RSS. */
async function measure(args: string[]): Promise<Measured> {
  const started = Date.now()
  const child = spawn(process.execPath, ['--import', PRELOAD, CLI, ...args], {stdio: ['ignore', 'pipe', 'pipe', 'pipe']})
  let stderr = ''
  let peak = ''
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()))
  ;(child.stdio[3] as Readable).on('data', (c: Buffer) => (peak += c.toString()))
  const [out, code] = await Promise.all([sha256(child.stdout as Readable), new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)))])
  return {code, stderr, peakKb: Number(peak.trim()), out, seconds: (Date.now() - started) / 1000}
}

describe('e2e: replay and export memory on a 200 MB trace', function () {
  this.timeout(60_000)
  let dir: string
  let big: string
  let small: string
  let smallPeak: Record<string, number>

  before(async function () {
    this.timeout(120_000)
    dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-memory-'))
    big = path.join(dir, 'big.jsonl')
    small = path.join(dir, 'small.jsonl')
    generate(big, 200 * MB)
    generate(small, 20 * MB)
    assert.ok(statSync(big).size >= 200 * MB)
    // The same runs on a tenth of the data: what memory the process needs anyway.
    smallPeak = {}
    for (const [name, args] of [['replay', ['replay', small, '--json']], ['csv', ['export', small, '--format', 'csv', '-o', '-']], ['perfetto', ['export', small, '--format', 'perfetto', '-o', '-']]] as const) {
      const m = await measure([...args])
      assert.equal(m.code, 0, m.stderr)
      smallPeak[name] = m.peakKb
    }
  })
  after(() => {
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('replay --json streams 200 MB back byte for byte with a peak RSS under 150 MB', async () => {
    const m = await measure(['replay', big, '--json'])
    assert.equal(m.code, 0, m.stderr)
    assert.equal(m.stderr, '')
    const original = await sha256(createReadStream(big))
    assert.equal(m.out.bytes, original.bytes)
    assert.equal(m.out.hash, original.hash)
    console.log(`      replay: ${(original.bytes / MB).toFixed(0)} MB in ${m.seconds.toFixed(1)} s, peak RSS ${(m.peakKb / 1024).toFixed(1)} MiB (20 MB input: ${(smallPeak.replay / 1024).toFixed(1)} MiB)`)
    assert.ok(Number.isFinite(m.peakKb) && m.peakKb > 10_000, `VmHWM was read: ${m.peakKb}`)
    assert.ok(m.peakKb < 150 * 1024, `peak RSS ${m.peakKb} kB`)
    assert.ok(m.peakKb - smallPeak.replay < 30 * 1024, `peak RSS grows with the input: ${smallPeak.replay} kB for 20 MB, ${m.peakKb} kB for 200 MB`)
  })

  it('export csv and perfetto stream 200 MB with flat memory', async () => {
    for (const format of ['csv', 'perfetto'] as const) {
      const m = await measure(['export', big, '--format', format, '-o', '-'])
      assert.equal(m.code, 0, m.stderr)
      console.log(`      export ${format}: ${(m.out.bytes / MB).toFixed(0)} MB out in ${m.seconds.toFixed(1)} s, peak RSS ${(m.peakKb / 1024).toFixed(1)} MiB (20 MB input: ${(smallPeak[format] / 1024).toFixed(1)} MiB)`)
      assert.ok(m.out.bytes > 50 * MB, `${m.out.bytes} bytes out`)
      assert.ok(m.peakKb < 180 * 1024, `peak RSS ${m.peakKb} kB`)
      assert.ok(m.peakKb - smallPeak[format] < 30 * 1024, `peak RSS grows with the input: ${smallPeak[format]} kB for 20 MB, ${m.peakKb} kB for 200 MB`)
    }
  })
})
