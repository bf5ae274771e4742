import assert from 'node:assert/strict'
import {chmodSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {BpftraceRunner} from '../../src/probe/runner.js'

/**
 * A stand-in for bpftrace (its arguments ignored): `trickle` lines 5 ms apart, then `burst` bytes
 * as fast as the pipe takes them, then `trickle` lines again. Each line names its phase.
 */
function producer(dir: string, o: {trickle: number; burst: number}): string {
  const file = path.join(dir, 'producer.mjs')
  writeFileSync(file, `#!${process.execPath}
import {writeSync} from 'node:fs'
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const pad = 'x'.repeat(90)
for (let i = 0; i < ${o.trickle}; i++) { writeSync(1, 'T ' + i + ' ' + pad + '\\n'); await sleep(5) }
for (let sent = 0, i = 0; sent < ${o.burst}; i++) { const l = 'B ' + i + ' ' + pad + '\\n'; writeSync(1, l); sent += l.length }
for (let i = 0; i < ${o.trickle}; i++) { writeSync(1, 'U ' + i + ' ' + pad + '\\n'); await sleep(5) }
`)
  chmodSync(file, 0o755)
  return file
}

interface Take {
  text: string
  waitsBefore: number
}

async function run(command: string, coalesce: boolean): Promise<{takes: Take[]; runner: BpftraceRunner}> {
  const runner = new BpftraceRunner({command, program: '', env: process.env})
  const takes: Take[] = []
  runner.on('data', (chunk: Buffer) => takes.push({text: chunk.toString('latin1'), waitsBefore: runner.waits}))
  runner.start()
  if (coalesce) runner.coalesce()
  await runner.wait()
  return {takes, runner}
}

function expected(trickle: number, burst: number): string {
  const pad = 'x'.repeat(90)
  let s = ''
  for (let i = 0; i < trickle; i++) s += `T ${i} ${pad}\n`
  for (let sent = 0, i = 0; sent < burst; i++) {
    const l = `B ${i} ${pad}\n`
    s += l
    sent += l.length
  }
  for (let i = 0; i < trickle; i++) s += `U ${i} ${pad}\n`
  return s
}

describe('runner: reading bpftrace output in batches while it trickles', function () {
  this.timeout(60_000)
  let dir: string
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pausetrace-runner-'))
  })
  after(() => rmSync(dir, {recursive: true, force: true}))

  it('takes a trickle in batches, never waits during a burst, and loses no byte', async () => {
    const trickle = 150
    const burst = 4 * 1024 * 1024
    const {takes, runner} = await run(producer(dir, {trickle, burst}), true)
    assert.equal(takes.map((t) => t.text).join(''), expected(trickle, burst))
    // lines 5 ms apart, taken at most every 40 ms: several lines per take (one per take without
    // batching); the trickle after the burst is within a second of it: taken as it comes
    const trickleTakes = takes.filter((t) => t.text.startsWith('T ')).length
    assert.ok(trickleTakes < trickle / 3, `${trickleTakes} takes for ${trickle} trickled lines`)
    assert.ok(runner.waits > 10, `${runner.waits} waits`)
    // once 256 KiB of the burst came, no take waits until a second after its end
    let seen = 0
    let from = -1
    let to = -1
    takes.forEach((t, i) => {
      if (!t.text.includes('\nB ') && !t.text.startsWith('B ')) return
      seen += t.text.length
      if (from < 0 && seen >= 256 * 1024) from = i
      to = i
    })
    assert.ok(from >= 0 && to > from)
    assert.equal(takes[to].waitsBefore - takes[from].waitsBefore, 0, 'waits while the burst came')
  })

  it('takes a fast stream of one-line writes (bpftrace 0.17) in batches: short waits only, and no byte lost', async () => {
    // 6,000 lines of ~100 bytes, each written on its own, one every 0.2 ms (~500 KB/s: fast, and
    // easy to keep up with, so that without batching node would wake up for every line)
    const file = path.join(dir, 'lines.mjs')
    writeFileSync(file, `#!${process.execPath}
import {writeSync} from 'node:fs'
const pad = 'x'.repeat(90)
const t0 = performance.now()
for (let i = 0; i < 6000; i++) {
  while (performance.now() - t0 < i * 0.2) {}
  writeSync(1, 'L ' + i + ' ' + pad + '\\n')
}
`)
    chmodSync(file, 0o755)
    const {takes, runner} = await run(file, true)
    const text = takes.map((t) => t.text).join('')
    const lines = text.split('\n').filter(Boolean)
    assert.equal(lines.length, 6000)
    lines.forEach((l, i) => assert.ok(l.startsWith(`L ${i} `), `line ${i}: ${l.slice(0, 20)}`))
    // several lines a take (one or two without the 1 ms waits), and the waits were the short ones
    assert.ok(takes.length < 6000 / 3, `${takes.length} takes`)
    assert.ok(runner.fastWaits > 100, `${runner.fastWaits} short waits`)
    // 100 ms waits only until 256 KiB came (the rate is judged over the last second)
    let seen = 0
    const after = takes.filter((t) => (seen += t.text.length) > 256 * 1024)
    assert.ok(after.length > 0)
    assert.equal(after.at(-1)!.waitsBefore - after[0].waitsBefore, 0, '100 ms waits in a fast stream')
  })

  it('reads each piece at once until asked to batch (the BEGIN line is not made to wait)', async () => {
    const {takes, runner} = await run(producer(dir, {trickle: 40, burst: 0}), false)
    assert.equal(takes.map((t) => t.text).join(''), expected(40, 0))
    assert.equal(runner.waits, 0)
  })
})
