import assert from 'node:assert/strict'
import {governHeap, nextHeapLimit} from '../../src/util/heap.js'

describe('the heap governor', () => {
  const MB = 1048576
  it('collects at the budget while what survives is small, and half as much again as what survived when that is more', () => {
    assert.equal(nextHeapLimit(128 * MB, 40 * MB), 128 * MB)
    assert.equal(nextHeapLimit(128 * MB, 100 * MB), 150 * MB)
    assert.equal(nextHeapLimit(128 * MB, 200 * MB), 300 * MB)
  })

  it('checks the heap only when told that records flow, at most once per interval, and never once stopped', () => {
    // a budget of 0: every check finds the heap over it
    const g = governHeap(0, 60_000)
    assert.equal(g.collections, 0)
    g.note()
    g.note()
    assert.equal(g.collections, 1)
    const h = governHeap(0, 0)
    h.stop()
    h.note()
    assert.equal(h.collections, 0)
  })
})
