import assert from 'node:assert/strict'
import {EventEmitter} from 'node:events'
import type {ReactElement} from 'react'
import {render} from 'ink-testing-library'
import {Timeline} from '../../src/model/timeline.js'
import type {TraceRecord} from '../../src/events/types.js'
import {BUSY_FRAME_BUDGET, BUSY_RATE, FRAME_BUDGET, LiveView} from '../../src/ui/live-view.js'
import {ViewState} from '../../src/ui/view-state.js'
import type {WatchAppProps} from '../../src/ui/WatchApp.js'
import {withoutColour} from '../helpers/chalk.js'
import {traceRecords} from '../helpers/traces.js'

/** The terminal LiveView writes its screen switches to (Ink itself renders into ink-testing-library). */
class FakeTerminal extends EventEmitter {
  columns = 80
  rows = 12
  isTTY = true
  written = ''
  write(s: string): boolean {
    this.written += s
    return true
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const twoPods = (): ViewState => {
  const tl = new ViewState(new Timeline())
  for (const n of ['zombie', 'sigterm-ignored'] as const) tl.feedAll(traceRecords(n).filter((r: TraceRecord) => r.type !== 'footer'))
  return tl
}

describe('LiveView: keys, throttled frames, the terminal given back', () => {
  withoutColour()

  it('keys reach the store through Ink (↓ k enter ? space q), frames follow, the alternate screen is entered and left', async () => {
    const tl = twoPods()
    const term = new FakeTerminal()
    let ink: ReturnType<typeof render> | undefined
    let quits = 0
    const view = new LiveView({
      state: tl,
      now: () => 3_650_000_000,
      onQuit: () => quits++,
      stdout: term as unknown as NodeJS.WriteStream,
      render: (node) => (ink = render(node)),
    })
    view.start()
    try {
      assert.ok(ink)
      const titles = (): string[] => (ink?.lastFrame() ?? '').split('\n').filter((l) => /^[▶ ] pt-/.test(l))
      assert.deepEqual(titles(), ['▶ pt-zombie · podman · own PID ns · netns:4026532177 · 4 events · 1 zombie', '  pt-sigterm · podman · own PID ns · netns:4026532178 · 1 event'])
      await sleep(50) // useInput subscribes after the first commit
      ink.stdin.write('\u001b[B') // ↓
      await sleep(150)
      assert.deepEqual(titles(), ['  pt-zombie · podman · own PID ns · netns:4026532177 · 4 events · 1 zombie', '▶ pt-sigterm · podman · own PID ns · netns:4026532178 · 1 event'])
      ink.stdin.write('k')
      await sleep(150)
      assert.equal(tl.ui.selected, 'netns:4026532177')
      ink.stdin.write('\r')
      await sleep(150)
      assert.equal((ink.lastFrame() ?? '').split('\n')[5], '── pt-zombie · event 1 of 2 · ←/→ older/newer ──────────────────────────────────')
      ink.stdin.write('?')
      await sleep(150)
      assert.equal((ink.lastFrame() ?? '').split('\n')[2], 'marks (time runs left to right; one lane per process, the pause first)')
      ink.stdin.write('?')
      ink.stdin.write(' ')
      await sleep(150)
      assert.equal(tl.ui.paused, true)
      assert.match((ink.lastFrame() ?? '').split('\n')[0], / · PAUSED, 0 waiting$/)
      assert.equal(quits, 0)
      ink.stdin.write('q')
      await sleep(20)
      assert.equal(quits, 1)
    } finally {
      view.stop()
    }
    assert.equal(term.written, '\u001b[?1049h\u001b[H\u001b[?25h\u001b[?1049l')
  })

  it('at most one frame per 100 ms however fast records come, the last one current; a resize and the clock bring one too', async () => {
    const tl = new ViewState(new Timeline())
    const term = new FakeTerminal()
    const frames: Array<{events: number; columns: number}> = []
    const record = (node: ReactElement): void => {
      const p = node.props as WatchAppProps
      frames.push({events: p.snapshot.counters.events, columns: p.columns})
    }
    const view = new LiveView({
      state: tl,
      now: () => tl.timeline.lastT,
      onQuit: () => undefined,
      stdout: term as unknown as NodeJS.WriteStream,
      altScreen: false,
      render: (node) => {
        record(node)
        return {rerender: record, unmount: () => undefined}
      },
    })
    const recs = traceRecords('flood').filter((r) => r.type === 'event')
    view.start()
    try {
      // about 1 s of records as fast as the loop goes, each one asking for a frame
      const end = Date.now() + 1000
      let fed = 0
      while (Date.now() < end) {
        for (let i = 0; i < 50; i++) {
          tl.feed({...recs[fed % recs.length], t: fed})
          fed++
          view.update()
        }
        await new Promise((r) => setImmediate(r))
      }
      await sleep(150)
      assert.ok(fed > 10_000, `fed ${fed}`)
      // the first frame at start, then one per 100 ms at most: 11 in 1.15 s
      assert.ok(frames.length >= 8 && frames.length <= 12, `${frames.length} frames`)
      assert.equal(frames[frames.length - 1].events, fed)
      const n = frames.length
      term.columns = 120
      term.emit('resize')
      await sleep(150)
      assert.deepEqual(frames.slice(n), [{events: fed, columns: 120}])
      await sleep(1000)
      assert.equal(frames.length, n + 2) // the clock: ages and the window move on without events
    } finally {
      view.stop()
    }
    const count = frames.length
    view.update()
    await sleep(150)
    assert.equal(frames.length, count, 'no frame after stop')
  })
  it('a frame that costs C waits FRAME_BUDGET × C while records trickle in, BUSY_FRAME_BUDGET × C while they flood in', async () => {
    const tl = new ViewState(new Timeline())
    const term = new FakeTerminal()
    const at: number[] = []
    const COST_MS = 4
    const draw = (): void => {
      at.push(Date.now())
      const end = performance.now() + COST_MS
      while (performance.now() < end); // a frame that costs COST_MS
    }
    const view = new LiveView({
      state: tl,
      now: () => 0,
      onQuit: () => undefined,
      stdout: term as unknown as NodeJS.WriteStream,
      altScreen: false,
      render: () => {
        draw()
        return {rerender: draw, unmount: () => undefined}
      },
    })
    const gaps = (from: number): number[] => at.slice(from + 1).map((t, i) => t - at[from + i])
    view.start()
    try {
      // calm: 20 records a second, each asking for a frame
      for (let i = 0; i < 24; i++) {
        view.update()
        await sleep(50)
      }
      const calm = gaps(1) // (the first gap follows start's frame, whose cost is not known yet)
      // flooded: far more than BUSY_RATE a second
      const n = at.length
      const end = Date.now() + 1500
      while (Date.now() < end) {
        for (let i = 0; i < 50; i++) view.update()
        await new Promise((r) => setImmediate(r))
      }
      const flooded = gaps(n + 1)
      assert.ok(calm.length >= 4 && flooded.length >= 2, `calm ${calm}; flooded ${flooded}`)
      const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]
      // the cost is at least COST_MS (more on a slow machine, which only spaces frames further)
      assert.ok(median(calm) >= FRAME_BUDGET * COST_MS && median(calm) < BUSY_FRAME_BUDGET * COST_MS * 1.5, `calm gaps ${calm}`)
      assert.ok(Math.min(...flooded) >= BUSY_FRAME_BUDGET * COST_MS, `flooded gaps ${flooded} (rate > ${BUSY_RATE}/s)`)
    } finally {
      view.stop()
    }
  })
})
