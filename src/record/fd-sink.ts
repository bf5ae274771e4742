// A Writable on a file descriptor that knows the offset of the last chunk written whole: when a
// write fails (a full disk), the file is cut back to that offset, so it ends on a record boundary
// (the writer hands it whole lines), and the error is reported once.
import {Writable} from 'node:stream'
import {close, ftruncateSync, write} from 'node:fs'

export class FdSink extends Writable {
  /** bytes written in whole chunks */
  committed = 0

  constructor(private readonly fd: number) {
    super({decodeStrings: true})
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    let done = 0
    const next = (): void => {
      write(this.fd, chunk, done, chunk.length - done, null, (err, n) => {
        if (err) {
          try {
            ftruncateSync(this.fd, this.committed)
          } catch {
            // the error below is what matters
          }
          cb(err)
          return
        }
        done += n
        if (done < chunk.length) next()
        else {
          this.committed += chunk.length
          cb()
        }
      })
    }
    next()
  }

  private fdClosed = false

  override _final(cb: (err?: Error | null) => void): void {
    this.fdClosed = true
    close(this.fd, (err) => cb(err))
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // closed once only: a second close could hit a descriptor reused by someone else
    if (this.fdClosed) cb(err)
    else {
      this.fdClosed = true
      close(this.fd, () => cb(err))
    }
  }
}
