import assert from 'node:assert/strict'
import {Timeline, type ExitItem, type FloodItem, type Lane, type ReapItem, type SignalItem} from '../../src/model/timeline.js'
import {ViewState, windowFor} from '../../src/ui/view-state.js'
import type {FloodEvent, TraceRecord} from '../../src/events/types.js'
import {timelineOf, traceRecords} from '../helpers/traces.js'

const sandboxOf = (tl: Timeline, id: string) => {
  const sb = tl.sandboxes.get(id)
  assert.ok(sb, `sandbox ${id}`)
  return sb
}
const laneOf = (tl: Timeline, id: string, pid: number): Lane => {
  const lane = sandboxOf(tl, id).lanes.get(pid)
  assert.ok(lane, `lane ${pid} in ${id}`)
  return lane
}
/** A lane's items as `kind:what@t`, compact enough to compare whole. */
const items = (lane: Lane): string[] =>
  lane.items.map((i) => {
    switch (i.kind) {
      case 'signal':
        return `signal:${i.ev.signame}/${i.state}@${i.t}`
      case 'exit':
        return `exit:${i.released?.how ?? 'zombie'}@${i.t}`
      case 'reap':
        return `reap:${i.ev.child.pid}/${i.latency}@${i.t}`
      case 'flood':
        return `flood:${i.count}x${i.events}@${i.t}`
      default:
        return `${i.kind}@${i.t}`
    }
  })

describe('Timeline (model) on recorded traces', () => {
  it('a pod whose PID 1 ignores SIGTERM: one ignored signal on the PID 1 lane, the pause lane from the sandbox record', () => {
    const tl = timelineOf('sigterm-ignored')
    assert.deepEqual(tl.counters, {
      events: 1, lost: 0, kinds: {signal: 1}, signals: {delivered: 0, ignored: 1, pending: 0, overflow: 0, lose_info: 0, targetDead: 0},
      exitSigchld: 0, flooded: 0, floodedDeliveries: 0, exits: 0, reaps: 0, zombies: 0, sandboxesDropped: 0,
    })
    const sb = sandboxOf(tl, 'netns:4026532178')
    assert.equal(sb.record?.pod?.name, 'pt-sigterm')
    assert.deepEqual([...sb.lanes.keys()], [539, 803])
    const pause = laneOf(tl, 'netns:4026532178', 539)
    assert.deepEqual([pause.role, pause.named, pause.proc.innerPid, pause.items], ['pause', false, 1, []])
    const pid1 = laneOf(tl, 'netns:4026532178', 803)
    assert.deepEqual([pid1.proc.comm, pid1.proc.innerPid, pid1.role], ['sleep', 1, 'container'])
    assert.deepEqual(items(pid1), ['signal:SIGTERM/ignored@332451653'])
    assert.deepEqual([...pid1.received], [['SIGTERM ignored', 1]])
    assert.equal((pid1.items[0] as SignalItem).ev.from.comm, 'node')
    assert.equal(sb.entries.length, 1)
    // the footer's wall time, in trace time
    assert.equal(tl.endT(), 3_650_000_000)
  })

  it('a reap by pause: SIGTERM → default action → exit → SIGCHLD → wait4 by catatonit, latency exact; SIGHUP consumed by its signalfd', () => {
    const tl = timelineOf('reap-by-pause')
    const id = 'netns:4026532177'
    const pause = laneOf(tl, id, 30940)
    const child = laneOf(tl, id, 31019)
    assert.deepEqual(items(pause), ['reap:31019/319846@362937346', 'signal:SIGHUP/consumed@970531918', 'signal:SIGHUP/awaiting@1347834497'])
    assert.deepEqual(items(child), ['signal:SIGTERM/default@362101181', 'exit:reaped@362617500'])
    assert.deepEqual([pause.proc.comm, pause.role, pause.reaped, pause.lastReap?.latency], ['catatonit', 'pause', 1, 319_846])
    const term = child.items[0] as SignalItem
    const exit = child.items[1] as ExitItem
    const reap = pause.items[0] as ReapItem
    assert.equal(term.fatal, exit)
    assert.equal(exit.cause, term)
    assert.deepEqual([exit.groupKill?.sig, exit.groupKill?.t, exit.sigchld?.t, exit.sigchld?.result, exit.parent?.pid], [9, 362575056, 362820352, 'delivered', 30940])
    assert.deepEqual(exit.released, {how: 'reaped', reap})
    assert.deepEqual([reap.exit, reap.latency, reap.ev.options, reap.ev.statusFrom], [exit, 362937346 - 362617500, ['WNOHANG'], 'wait'])
    // the second SIGHUP was queued as new: the first had left the queue without signal_deliver
    assert.equal((pause.items[1] as SignalItem).consumedT, 1347834497)
    assert.deepEqual(tl.counters.signals, {delivered: 3, ignored: 0, pending: 0, overflow: 0, lose_info: 0, targetDead: 0})
    assert.deepEqual([tl.counters.exits, tl.counters.reaps, tl.counters.zombies, tl.counters.exitSigchld], [1, 1, 0, 1])
    assert.deepEqual(tl.zombieList(), [])
  })

  it('a zombie: exited, SIGCHLD ignored by its parent (a PID 1 that never waits), parent named as the one to reap it', () => {
    const tl = timelineOf('zombie')
    const id = 'netns:4026532177'
    const z = laneOf(tl, id, 5334)
    assert.deepEqual(items(z), ['signal:SIGTERM/default@326285094', 'exit:zombie@326349149'])
    const exit = z.exit as ExitItem
    assert.deepEqual([exit.released, exit.parent?.pid, exit.parent?.innerPid, exit.parent?.comm, exit.sigchld?.result], [undefined, 5322, 1, 'sleep', 'ignored'])
    assert.deepEqual(tl.zombieList(), [exit])
    assert.deepEqual([tl.counters.zombies, sandboxOf(tl, id).counts.zombies], [1, 1])
    // the parent gets no lane of its own: a SIGCHLD is part of the child's chain
    assert.deepEqual([...sandboxOf(tl, id).lanes.keys()], [4858, 5334])
  })

  it('a flood: 64 signals one by one and one flood mark counting the 2936 others', () => {
    const tl = timelineOf('flood')
    const lane = laneOf(tl, 'netns:4026532181', 11520)
    // a ring of 64: the first of the 65 items scrolled out, the counts did not
    assert.equal(lane.items.length, 64)
    assert.deepEqual(items(lane).slice(0, 1), ['signal:SIGWINCH/ignored@326461907']) // the 2nd: the 1st was at 326389499
    assert.deepEqual(items(lane).slice(-2), ['signal:SIGWINCH/ignored@328976231', 'flood:2936x1@560555753'])
    assert.deepEqual([...lane.received], [['SIGWINCH ignored', 64]])
    assert.deepEqual([...lane.flooded], [['SIGWINCH', 2936]])
    const flood = lane.items[63] as FloodItem
    assert.deepEqual([flood.fromT, flood.lastT, flood.first.from.comm], [560555753, 560555753, 'node'])
    assert.deepEqual([tl.counters.flooded, tl.counters.signals.ignored, sandboxOf(tl, 'netns:4026532181').counts.flooded], [2936, 64, 2936])
  })

  it('a flood that goes on: the next summary of the same key (sinceT = the last one) extends the one mark', () => {
    const recs = traceRecords('flood')
    const flood = recs.find((r) => r.type === 'event' && r.kind === 'flood') as FloodEvent & {type: 'event'}
    const next = {...flood, t: flood.t + 250_000_000, count: 100, sinceT: flood.t}
    const apart = {...flood, t: flood.t + 900_000_000, count: 7, sinceT: flood.t + 500_000_000}
    const tl = new Timeline().feedAll([...recs.filter((r) => r.type !== 'footer'), next, apart])
    const lane = laneOf(tl, 'netns:4026532181', 11520)
    assert.deepEqual(items(lane).slice(-2), ['flood:3036x2@560555753', 'flood:7x1@1460555753'])
    assert.deepEqual([(lane.items[62] as FloodItem).lastT, (lane.items[63] as FloodItem).fromT], [810555753, 1060555753])
    assert.deepEqual([tl.counters.flooded, lane.flooded.get('SIGWINCH')], [3043, 3043])
  })

  it('lost events: gaps from the loss to the next event, consecutive losses merged, counters exact', () => {
    const tl = timelineOf('lost')
    assert.deepEqual(tl.gaps, [
      {kind: 'gap', t: 333355122, count: 6, sources: ['bpftrace'], endT: 336551873},
      {kind: 'gap', t: 395703680, count: 289, sources: ['bpftrace'], endT: 395703680},
      {kind: 'gap', t: 424120728, count: 1548, sources: ['bpftrace']},
    ])
    assert.deepEqual([tl.counters.lost, tl.counters.events, tl.counters.exits, tl.counters.reaps, tl.counters.floodedDeliveries], [1843, 309, 52, 48, 272])
    // exits whose reap fell in the last gap stay zombies; the last one's SIGCHLD was lost too
    assert.deepEqual(tl.zombieList().map((z) => [z.ev.proc.pid, z.parent?.pid]), [[19011, 18732], [19012, 18732], [19013, 18732], [19015, undefined]])
  })

  it('ns-pause: SIGCHLD to the handler and a reap with no status pointer, SIGHUP dropped, SIGTERM handled, the namespace ends with its zombie', () => {
    const tl = timelineOf('ns-pause')
    const id = 'netns:4026532336'
    const pause = laneOf(tl, id, 30338)
    assert.deepEqual(items(pause), ['reap:30641/216783@625550306', 'signal:SIGHUP/ignored@1619322027', 'signal:SIGTERM/handler@2215357455', 'exit:reaped@2215449848'])
    const reap = pause.items[0] as ReapItem
    assert.deepEqual([reap.ev.statusFrom, reap.ev.status, reap.ev.options], ['exit', {exited: 5}, ['WNOHANG']])
    assert.equal((pause.items[2] as SignalItem).deliver?.handler, 'handler')
    const zombie = laneOf(tl, id, 30670)
    assert.deepEqual(items(zombie), ['fork@932234621', 'signal:SIGTERM/default@950674567', 'exit:namespace-ended@951340348', 'signal:SIGKILL/dead@2215585610'])
    assert.deepEqual((zombie.exit as ExitItem).released, {how: 'namespace-ended', t: 2215449848, by: (pause.exit as ExitItem).ev.proc})
    assert.deepEqual([tl.counters.zombies, tl.counters.exits, tl.counters.reaps, sandboxOf(tl, id).counts.zombies], [0, 9, 8, 0])
    // a host process (node) reaping a sandbox process: the mark goes on the child's lane
    assert.deepEqual(items(laneOf(tl, id, 30337)), ['reap:30338/7339640@2222789488', 'exit:reaped@2222892311', 'reap:30337/751384@2223643695'])
    assert.equal(tl.sandboxes.has('host'), false)
  })

  it("teardown: the dying init takes its own namespace's zombies, not one whose parent is outside; its SIGKILLs to zombies are no effect, never ignored", () => {
    const records = traceRecords('teardown')
    const id = 'netns:4026532182'
    const pauseExit = 1125426073
    // Right after the pause's exit: Z1 (parent inside) is released with the namespace; Z2, whose
    // parent is an nsenter outside (stopped), stays a zombie, and so does the pause, which cannot
    // finish exiting before Z2 is reaped.
    const atExit = new Timeline().feedAll(records.filter((r) => r.type !== 'event' || r.t <= pauseExit))
    assert.deepEqual(atExit.zombieList().map((z) => [z.ev.proc.pid, z.parent?.pid]), [[25821, 25820], [25816, undefined]])
    const tl = timelineOf('teardown')
    const pause = laneOf(tl, id, 25816)
    assert.deepEqual((laneOf(tl, id, 25819).exit as ExitItem).released, {how: 'namespace-ended', t: pauseExit, by: (pause.exit as ExitItem).ev.proc})
    const z2 = (laneOf(tl, id, 25821).exit as ExitItem).released
    assert.ok(z2?.how === 'reaped')
    assert.deepEqual([z2.reap.ev.reaper.pid, z2.reap.ev.syscall, z2.reap.ev.options, z2.reap.t], [25820, 'wait4', ['WUNTRACED'], 2122167303])
    // The teardown's SIGKILL reaches both zombies: marked dead, counted apart from ignored
    // signals (the one ignored signal is the SIGCONT that resumed nsenter; two of the nine
    // delivered ones went to the host: nsenter's CLD_STOPPED and CLD_CONTINUED to node).
    assert.deepEqual(items(laneOf(tl, id, 25819)), ['signal:SIGTERM/default@330440744', 'exit:namespace-ended@330671264', 'signal:SIGKILL/dead@1125743964'])
    assert.deepEqual(items(laneOf(tl, id, 25821)), ['signal:SIGTERM/default@431761899', 'exit:reaped@432421451', 'signal:SIGKILL/dead@1125764605'])
    assert.deepEqual(tl.counters.signals, {delivered: 9, ignored: 1, pending: 0, overflow: 0, lose_info: 0, targetDead: 2})
    assert.deepEqual(sandboxOf(tl, id).counts.signals, {delivered: 7, ignored: 1, pending: 0, overflow: 0, lose_info: 0, targetDead: 2})
    assert.deepEqual([tl.counters.zombies, tl.counters.exits, tl.counters.reaps], [0, 7, 6])
  })

  it('ns-pause (written before targetDead existed): the SIGKILL to a zombie is still told apart from an ignored signal', () => {
    const tl = timelineOf('ns-pause')
    assert.deepEqual([tl.counters.signals.ignored, tl.counters.signals.targetDead], [1, 1])
  })

  it('bounded memory: rings of N items per lane and capped lanes and entries, with the same exact counters', () => {
    const full = timelineOf('lost')
    const small = timelineOf('lost', {laneItems: 4, lanesPerSandbox: 3, entriesPerSandbox: 5})
    assert.deepEqual(small.counters, full.counters)
    const sb = sandboxOf(small, 'netns:4026532252')
    // the pause plus 3 lanes; every other lane made (61 in all) was dropped, oldest activity first, zombies last
    assert.deepEqual([...sb.lanes.keys()], [16355, 19012, 19013, 19015])
    assert.deepEqual([sb.lanes.size, sb.counts.lanesDropped, sb.entries.length], [4, 57, 5])
    assert.deepEqual(items(sb.lanes.get(19015) as Lane), ['exit:zombie@424120728'])
    assert.deepEqual(sb.counts, {...sandboxOf(full, 'netns:4026532252').counts, lanesDropped: 57})
    // the reaper's ring holds its last 4 items; its reap count stays exact
    const full18732 = laneOf(full, 'netns:4026532252', 18732)
    assert.deepEqual([full18732.reaped, full18732.items.length], [48, 50])
  })

  it('pause: the view stays as it was while records queue (counted at once); resume applies them in order', () => {
    const recs = traceRecords('reap-by-pause')
    const tl = new Timeline()
    const view = new ViewState(tl).feedAll(recs.slice(0, 3))
    view.setPaused(true)
    const before = items(laneOf(tl, 'netns:4026532177', 31019))
    view.feedAll(recs.slice(3))
    assert.deepEqual(items(laneOf(tl, 'netns:4026532177', 31019)), before)
    assert.deepEqual([view.snapshot(0).counters.events, view.snapshot(0).queued, tl.counters.reaps], [7, 6, 0])
    view.setPaused(false)
    const whole = timelineOf('reap-by-pause')
    assert.deepEqual(tl.counters, whole.counters)
    assert.deepEqual(items(laneOf(tl, 'netns:4026532177', 30940)), items(laneOf(whole, 'netns:4026532177', 30940)))
    assert.equal(view.snapshot(0).queued, 0)
  })

  it('pause with a bounded queue: past the cap the oldest records are applied anyway, still counted once', () => {
    const tl = new Timeline()
    const view = new ViewState(tl, {pausedQueue: 10})
    view.setPaused(true)
    view.feedAll(traceRecords('flood'))
    assert.deepEqual([view.snapshot(0).queued, view.snapshot(0).counters.events, laneOf(tl, 'netns:4026532181', 11520).items.length], [10, 65, 55])
    view.setPaused(false)
    assert.deepEqual([tl.counters.events, tl.counters.flooded, laneOf(tl, 'netns:4026532181', 11520).items.length], [65, 2936, 64])
  })

  it('selection and text filter: j/k move within the filtered list and stop at its ends; entries move and clamp', () => {
    // three traces, one after the other: three sandboxes (two podman pods, one namespace sandbox)
    const tl = new ViewState(new Timeline())
    for (const n of ['zombie', 'flood', 'sigterm-ignored'] as const) tl.feedAll(traceRecords(n).filter((r: TraceRecord) => r.type !== 'footer'))
    const ids = () => tl.visible().map((s) => s.id)
    assert.deepEqual(ids(), ['netns:4026532177', 'netns:4026532181', 'netns:4026532178'])
    assert.equal(tl.snapshot(0).selected?.id, 'netns:4026532177')
    tl.select(1)
    tl.select(1)
    tl.select(1)
    assert.equal(tl.snapshot(0).selected?.id, 'netns:4026532178')
    tl.select(-5)
    assert.equal(tl.ui.selected, 'netns:4026532177')
    tl.setFilter('PT-')
    assert.deepEqual(ids(), ['netns:4026532177', 'netns:4026532178'])
    tl.setFilter('11520') // a PID
    assert.deepEqual(ids(), ['netns:4026532181'])
    assert.equal(tl.snapshot(0).selected?.id, 'netns:4026532181')
    tl.setFilter('namespaces') // a runtime
    assert.deepEqual(ids(), ['netns:4026532181'])
    tl.setFilter('nothing-like-this')
    assert.deepEqual([ids(), tl.snapshot(0).selected], [[], undefined])
    tl.endFilter(false)
    assert.deepEqual([tl.ui.filter, ids().length], ['', 3])
    tl.ui.selected = 'netns:4026532181'
    tl.moveEntry(1)
    tl.moveEntry(1)
    assert.equal(tl.ui.entry, 2)
    tl.moveEntry(500)
    assert.equal(tl.ui.entry, 64)
    tl.moveEntry(-500)
    assert.equal(tl.ui.entry, 0)
  })

  it('windowFor: the smallest of 1 s, 2 s, 5 s … 5 min that holds the trace, then a sliding 5 minutes', () => {
    assert.deepEqual(windowFor(0), {from: 0, to: 1e9})
    assert.deepEqual(windowFor(1e9), {from: 0, to: 1e9})
    assert.deepEqual(windowFor(1e9 + 1), {from: 0, to: 2e9})
    assert.deepEqual(windowFor(3.65e9), {from: 0, to: 5e9})
    assert.deepEqual(windowFor(299e9), {from: 0, to: 300e9})
    assert.deepEqual(windowFor(400e9), {from: 100e9, to: 400e9})
  })

  it('too many sandboxes: the least recently active one goes, the count of dropped ones is exact', () => {
    const tl = new Timeline({sandboxes: 2})
    for (const n of ['zombie', 'flood', 'ns-pause'] as const) tl.feedAll(traceRecords(n).filter((r: TraceRecord) => r.type !== 'footer'))
    assert.deepEqual([[...tl.sandboxes.keys()], tl.counters.sandboxesDropped], [['netns:4026532181', 'netns:4026532336'], 1])
    assert.equal(tl.counters.events, 4 + 65 + 49)
  })
})
