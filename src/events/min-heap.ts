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
    a.push(item)
    let i = a.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!less(a[i], a[p])) break
      ;[a[i], a[p]] = [a[p], a[i]]
      i = p
    }
  }

  pop(): HeapItem<T> | undefined {
    const a = this.a
    if (a.length === 0) return undefined
    const top = a[0]
    const last = a.pop() as HeapItem<T>
    if (a.length > 0) {
      a[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < a.length && less(a[l], a[m])) m = l
        if (r < a.length && less(a[r], a[m])) m = r
        if (m === i) break
        ;[a[i], a[m]] = [a[m], a[i]]
        i = m
      }
    }
    return top
  }
}

function less<T>(x: HeapItem<T>, y: HeapItem<T>): boolean {
  return x.t < y.t || (x.t === y.t && x.seq < y.seq)
}
