/** Helpers for the weft/1 tests: a FrameSink that records decoded frames as plain values. */
import type { FrameSink } from '../../../proxy/wire/decode';

/** A sink that records every event as a plain value (DATA pieces of one frame joined by the caller). */
export function recorder(): { sink: FrameSink; events: unknown[] } {
  const events: unknown[] = [];
  const sink: FrameSink = {
    onData: (id, chunk, end) => {
      const last = events[events.length - 1] as { t: string; id: number; data: string; end: boolean } | undefined;
      // consecutive DATA of one stream is joined, so neither chunking nor frame splits show
      if (last && last.t === 'data' && last.id === id && !last.end) {
        last.data += chunk.toString('latin1');
        last.end = end;
      } else events.push({ t: 'data', id, data: chunk.toString('latin1'), end });
    },
    onHeaders: (id, fields, end) => events.push({ t: 'headers', id, fields, end }),
    onTrailers: (id, fields) => events.push({ t: 'trailers', id, fields }),
    onReset: (id, code) => events.push({ t: 'reset', id, code }),
    onWindow: (id, inc) => events.push({ t: 'window', id, inc }),
    onPing: (ack, p) => events.push({ t: 'ping', ack, p: p.toString('hex') }),
    onGoaway: (last, code, debug) => events.push({ t: 'goaway', last, code, debug }),
    onSettings: (s) => events.push({ t: 'settings', s }),
  };
  return { sink, events };
}

