// A binary min-heap ordered by (t, seq): the store of the reorder window (reorder-window.ts),
// which puts bpftrace 0.17's per-CPU output back into kernel time order.

export interface HeapItem<T> {
  t: number
  seq: number
  value: T
}

export class MinHeap<T> {
  private a: Array<HeapItem<T>> = []

  get size(): number {
    return this.a.length
  }

  peek(): HeapItem<T> | undefined {
    return this.a[0]
  }

  push(item: HeapItem<T>): void {
    const a = this.a
    // sift up with a hole: parents move down, the item is written once
    let i = a.length
    a.push(item)
    while (i > 0) {
      const p = (i - 1) >> 1
      const parent = a[p]
      if (!less(item, parent)) break
      a[i] = parent
      i = p
    }
    a[i] = item
  }

  pop(): HeapItem<T> | undefined {
    const a = this.a
    if (a.length === 0) return undefined
    const top = a[0]
    const last = a.pop() as HeapItem<T>
    const n = a.length
    if (n > 0) {
      // sift the last item down from the root with a hole
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        if (l >= n) break
        const r = l + 1
        const m = r < n && less(a[r], a[l]) ? r : l
        const child = a[m]
        if (!less(child, last)) break
        a[i] = child
        i = m
      }
      a[i] = last
    }
    return top
  }
}

function less<T>(x: HeapItem<T>, y: HeapItem<T>): boolean {
  return x.t < y.t || (x.t === y.t && x.seq < y.seq)
}
