/** Write backpressure: one response at a time per stream, a server-wide byte budget, obsolete queued responses dropped. */
import { SendBudget, StreamWriter } from '../../../control-plane/xds/send-queue';
import type { OutgoingResponse } from '../../../control-plane/xds/wire';

const resp = (typeUrl: string, version: string, size: number): OutgoingResponse => ({ typeUrl, version, bytes: Buffer.alloc(size) });

/** A sink whose writes complete only when the test says so. */
class Sink {
  readonly written: OutgoingResponse[] = [];
  private readonly cbs: Array<() => void> = [];
  write(r: OutgoingResponse, cb: () => void): void { this.written.push(r); this.cbs.push(cb); }
  complete(): void { this.cbs.shift()!(); }
  get pending(): number { return this.cbs.length; }
}

describe('StreamWriter', () => {
  test('writes one response at a time, in order', () => {
    const sink = new Sink();
    const w = new StreamWriter(sink, new SendBudget(1 << 20));
    w.send(resp('A', '1', 10));
    w.send(resp('B', '1', 10));
    expect(sink.written.map((r) => r.typeUrl)).toEqual(['A']);
    expect(w.queued).toBe(1);
    sink.complete();
    expect(sink.written.map((r) => r.typeUrl)).toEqual(['A', 'B']);
  });

  test('a queued response replaced by a newer version of its type is never written; chunks of one version are kept', () => {
    const sink = new Sink();
    const w = new StreamWriter(sink, new SendBudget(1 << 20));
    w.send(resp('X', '0', 1));
    w.send(resp('A', '1', 1));
    w.send(resp('A', '1', 1));
    w.send(resp('B', '1', 1));
    w.send(resp('A', '2', 1));
    for (let i = 0; i < 4 && sink.pending; i++) sink.complete();
    expect(sink.written.map((r) => `${r.typeUrl}${r.version}`)).toEqual(['X0', 'B1', 'A2']);
  });

  test('the byte budget holds other streams back until a write completes, first come first served', () => {
    const budget = new SendBudget(100);
    const sinks = [new Sink(), new Sink(), new Sink()];
    const writers = sinks.map((s) => new StreamWriter(s, budget));
    writers.forEach((w) => w.send(resp('A', '1', 60)));
    expect(sinks.map((s) => s.written.length)).toEqual([1, 0, 0]);
    expect(budget.bytesInFlight).toBe(60);
    expect(budget.waiters).toBe(2);
    sinks[0].complete();
    expect(sinks.map((s) => s.written.length)).toEqual([1, 1, 0]);
    sinks[1].complete();
    expect(sinks.map((s) => s.written.length)).toEqual([1, 1, 1]);
    sinks[2].complete();
    expect(budget.bytesInFlight).toBe(0);
  });

  test('a response larger than the budget still goes when nothing else is in flight', () => {
    const sink = new Sink();
    new StreamWriter(sink, new SendBudget(10)).send(resp('A', '1', 1000));
    expect(sink.written).toHaveLength(1);
  });

  test('closing a stream mid-write gives its budget back to the waiting streams', () => {
    const budget = new SendBudget(100);
    const a = new Sink();
    const b = new Sink();
    const wa = new StreamWriter(a, budget);
    const wb = new StreamWriter(b, budget);
    wa.send(resp('A', '1', 90));
    wb.send(resp('A', '1', 90));
    expect(b.written).toHaveLength(0);
    wa.close();
    expect(b.written).toHaveLength(1);
    expect(budget.bytesInFlight).toBe(90);
  });

  test('a write that never completes (peer not reading) stops counting after stallMs', async () => {
    const budget = new SendBudget(100, 20);
    const stuck = new Sink();
    new StreamWriter(stuck, budget).send(resp('A', '1', 90));
    const other = new Sink();
    const granted = new Promise<void>((resolve) => new StreamWriter({ write: (r, cb) => { other.write(r, cb); resolve(); } }, budget).send(resp('A', '1', 90)));
    expect(other.written).toHaveLength(0);
    await granted;
    expect(other.written).toHaveLength(1);
    expect(stuck.pending).toBe(1);
  });
});
