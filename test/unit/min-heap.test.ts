import assert from 'node:assert/strict'
import {MinHeap} from '../../src/events/min-heap.js'

describe('MinHeap (the reorder window\'s store)', () => {
  it('each pop is the minimum by (t, seq) of what it holds then, pops interleaved with pushes', () => {
    // a fixed pseudo-random sequence: mostly rising times with ties and stragglers, as per-CPU buffers give them
    let x = 12345
    const rnd = (): number => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
    const heap = new MinHeap<number>()
    // the reference: what the heap holds, as a plain list (each pop must be its minimum then)
    const held: Array<[number, number]> = []
    const popMin = (): [number, number] | undefined => {
      if (held.length === 0) return undefined
      let m = 0
      for (let i = 1; i < held.length; i++) if (held[i][0] < held[m][0] || (held[i][0] === held[m][0] && held[i][1] < held[m][1])) m = i
      return held.splice(m, 1)[0]
    }
    let seq = 0
    let pops = 0
    for (let i = 0; i < 5000; i++) {
      const t = Math.floor(i / 3) + Math.floor(rnd() * 40) - (rnd() < 0.05 ? 500 : 0)
      heap.push({t, seq, value: i})
      held.push([t, seq++])
      if (rnd() < 0.4) {
        const top = heap.pop()
        assert.deepEqual(top && [top.t, top.seq], popMin())
        pops++
      }
    }
    for (let top = heap.pop(); top; top = heap.pop()) {
      assert.deepEqual([top.t, top.seq], popMin())
      pops++
    }
    assert.equal(heap.size, 0)
    assert.equal(held.length, 0)
    assert.ok(pops === 5000)
  })
})
