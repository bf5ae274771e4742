import assert from 'node:assert/strict'
import {MinHeap} from '../../src/events/min-heap.js'

describe('MinHeap (the reorder window\'s store)', () => {
  it('pops by (t, seq) whatever the order pushed, interleaved with pushes', () => {
    // a fixed pseudo-random sequence: mostly rising times with ties and stragglers, as per-CPU buffers give them
    let x = 12345
    const rnd = (): number => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    const heap = new MinHeap<number>()
    const out: Array<[number, number]> = []
    let seq = 0
    for (let i = 0; i < 5000; i++) {
      const t = Math.floor(i / 3) + Math.floor(rnd() * 40) - (rnd() < 0.05 ? 500 : 0)
      heap.push({t, seq: seq++, value: i})
      if (rnd() < 0.4) {
        const top = heap.pop()
        if (top) out.push([top.t, top.seq])
      }
    }
    const rest: Array<[number, number]> = []
    for (let top = heap.pop(); top; top = heap.pop()) rest.push([top.t, top.seq])
    assert.equal(heap.size, 0)
    assert.equal(out.length + rest.length, 5000)
    const sorted = [...rest].sort((a, b) => a[0] - b[0] || a[1] - b[1])
    assert.deepEqual(rest, sorted)
    // each pop was the minimum of what the heap held then: never above what a later pop gave among earlier pushes
    for (let i = 1; i < rest.length; i++) assert.ok(rest[i - 1][0] <= rest[i][0])
  })
})
