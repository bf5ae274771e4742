// What the decoder asks of the live system (/proc, through a ProcResolver) while lines come: a
// signal's target that acted in a line read before needs no lookup; only one never seen does. An
// exec whose file name read back empty asks for the new name once, when its line is read.
import assert from 'node:assert/strict'
import {assertValidRecords} from '../helpers/schema.js'
import {Decoder, type DecodedRecord} from '../../src/events/decoder.js'
import type {ProcInfo, ProcResolver} from '../../src/events/process-info.js'
import {parseBpftraceLine} from '../../src/stream/bpftrace-json.js'

const SBX = '4026532000 1 4026532100 4026532101 4026532102 4026532103 1'
/** actor fields: tid pid innerTid innerPid pidns level netns ipcns utsns mntns cgroupId ppid */
const actor = (tid: number, inner: number, ppid: number, exiting = false): string =>
  `${tid} ${tid} ${inner} ${inner} ${exiting ? '4026532000 1 0 0 0 0 1' : SBX} ${ppid}`
const line = (text: string): string => JSON.stringify({type: 'printf', data: `${text}\n`})

class CountingResolver implements ProcResolver {
  tasks: number[] = []
  comms: number[] = []
  task(tid: number): ProcInfo | undefined {
    this.tasks.push(tid)
    if (tid !== 900) return undefined
    return {tid, pid: tid, comm: 'bash', innerPid: tid, pidns: 4026531836, level: 0, netns: 4026531833, ipcns: 1, utsns: 2, mntns: 3, cgroupId: 0, ppid: 1}
  }

  comm(tid: number): string | undefined {
    this.comms.push(tid)
    return tid === 501 ? 'true' : undefined
  }

  hostPid(): number | undefined {
    return undefined
  }

  zombieStatus(): number | undefined {
    return undefined
  }
}

function decode(lines: string[], resolver: ProcResolver): DecodedRecord[] {
  const d = new Decoder({resolver})
  const out: DecodedRecord[] = []
  for (const l of lines) out.push(...d.push(parseBpftraceLine(l)!))
  out.push(...d.finish())
  return out
}

describe('decoder: lookups in the live system', () => {
  const lines = [
    line('P 1000 0 4026531836 4026531833'),
    // sh (inner PID 7 of a sandbox) forks 501, which execs a file whose name read back empty
    line(`F 2000 501 0 ${actor(500, 7, 400)} sh`),
    line(`X 3000 501 ${actor(501, 8, 500)} `),
    line(`E 4000 0 1 2 ${actor(501, 8, 500, true)} true`),
    // the kernel's SIGCHLD to sh (seen acting: no lookup), then a SIGCHLD to 900 (never seen)
    line(`G 4100 0 17 1 0 0 500 0 0 0 0 0 0 0 0 0 ${actor(501, 8, 500, true)} sh`),
    line(`G 4200 0 17 1 0 0 900 0 0 0 0 0 0 0 0 0 ${actor(501, 8, 500, true)} bash`),
  ]

  it('names a target that acted from its line, looks up only the one never seen, and an empty exec name once', () => {
    const r = new CountingResolver()
    const records = decode(lines, r)
    assertValidRecords(records)
    assert.deepEqual(r.tasks, [900])
    assert.deepEqual(r.comms, [501])
    const events = records.flatMap((e) => (e.type === 'event' ? [e] : []))
    const exec = events.find((e) => e.kind === 'exec')
    assert.ok(exec?.kind === 'exec')
    assert.equal(exec.proc.comm, 'true')
    const to = events.flatMap((e) => (e.kind === 'signal' ? [[e.to?.pid, e.to?.innerPid, e.to?.comm]] : []))
    assert.deepEqual(to, [[500, 7, 'sh'], [900, 900, 'bash']])
  })

  it('an exec the kernel printed with its new comm (a Y line: the file name read back empty) costs no lookup', () => {
    const r = new CountingResolver()
    const withComm = lines.map((l) => l.replace('"X 3000 501', '"Y 3000 501').replace(/ \\n"}$/, ' true\\n"}'))
    assert.ok(withComm.some((l) => l.includes('"Y 3000 501') && l.endsWith(' true\\n"}')))
    const records = decode(withComm, r)
    assertValidRecords(records)
    assert.deepEqual(r.comms, [])
    const exec = records.find((e) => e.type === 'event' && e.kind === 'exec')
    assert.ok(exec?.type === 'event' && exec.kind === 'exec')
    assert.equal(exec.proc.comm, 'true')
    assert.equal(exec.filename, '')
  })

  it('does not name a new child from what its TID did before the fork', () => {
    const r = new CountingResolver()
    // 600 acted, exited and was reaped; its TID is given to a new child of sh; a signal to it
    const reused = [
      line('P 1000 0 4026531836 4026531833'),
      line(`F 1500 601 0 ${actor(600, 9, 400)} old`),
      line(`F 2000 600 0 ${actor(500, 7, 400)} sh`),
      line(`G 2100 0 15 0 0 0 600 0 0 0 0 0 0 0 0 0 ${actor(500, 7, 400)} sh`),
    ]
    decode(reused, r)
    assert.deepEqual(r.tasks, [600])
  })
})
