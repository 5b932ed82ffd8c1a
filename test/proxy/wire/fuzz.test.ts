/**
 * Fuzzing the weft/1 decoder (fixed seed, bounded runs): arbitrary and mutated bytes in arbitrary
 * chunks end in frames or a coded WireError, never another throw or a hang; valid frame sequences
 * decode the same whatever the chunking.
 */
import fc from 'fast-check';
import { FrameDecoder } from '../../../proxy/wire/decode';
import { dataHead, goawayFrame, headersFrame, pingFrame, resetFrame, settingsFrame, windowFrame } from '../../../proxy/wire/encode';
import { DEFAULT_SETTINGS, WireError } from '../../../proxy/wire/frames';
import { recorder } from './util';

const SEED = 0x5eed13;
const SETTINGS = settingsFrame(DEFAULT_SETTINGS);

/** Feeds `bytes` in chunks cut at `cuts`; returns the events and the error (only WireErrors allowed). */
function feed(bytes: Buffer, cuts: number[]): { events: unknown[]; error?: WireError } {
  const { sink, events } = recorder();
  const d = new FrameDecoder(sink);
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let prev = 0;
  try {
    for (const p of [...points, bytes.length]) {
      d.push(bytes.subarray(prev, p));
      prev = p;
    }
  } catch (e) {
    if (!(e instanceof WireError) || !e.code.startsWith('WEFT_ERR_WIRE_')) throw e;
    return { events, error: e };
  }
  return { events };
}

const token = fc.stringMatching(/^[a-z0-9-]{1,12}$/);
const value = fc.stringMatching(/^[ -~]{0,20}$/);
const fields = fc.array(fc.tuple(token, value), { maxLength: 6 })
  .map((pairs) => pairs.filter(([n]) => !['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te'].includes(n)).flat());
const streamId = fc.integer({ min: 1, max: 0x7fffffff });

/** One valid frame (after SETTINGS), encoded. */
const validFrame: fc.Arbitrary<Buffer> = fc.oneof(
  fc.tuple(streamId, fields, fc.boolean()).map(([id, f, end]) => headersFrame(id, [':status', '200', ...f], end, DEFAULT_SETTINGS)),
  fc.tuple(streamId, fields).map(([id, f]) => headersFrame(id, f, true, DEFAULT_SETTINGS, true)),
  fc.tuple(streamId, fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.boolean()).map(([id, d, end]) => Buffer.concat([dataHead(id, d.length, end), d])),
  fc.tuple(streamId, fc.nat(10)).map(([id, c]) => resetFrame(id, c)),
  fc.tuple(fc.integer({ min: 0, max: 0x7fffffff }), fc.integer({ min: 1, max: 0x7fffffff })).map(([id, inc]) => windowFrame(id, inc)),
  fc.tuple(fc.boolean(), fc.uint8Array({ minLength: 8, maxLength: 8 })).map(([ack, p]) => pingFrame(ack, p)),
  fc.tuple(fc.nat(), fc.nat(10), fc.string({ maxLength: 40 })).map(([last, c, dbg]) => goawayFrame(last & 0x7fffffff, c, dbg)),
);
const cuts = fc.array(fc.nat(), { maxLength: 12 });

test('PROPERTY: valid frame sequences decode to the same events in any chunking', () => {
  fc.assert(fc.property(fc.array(validFrame, { maxLength: 12 }), cuts, (frames, cs) => {
    const bytes = Buffer.concat([SETTINGS, ...frames]);
    const whole = feed(bytes, []);
    expect(whole.error).toBeUndefined();
    expect(feed(bytes, cs)).toEqual(whole);
  }), { seed: SEED, numRuns: 300 });
});

test('PROPERTY: arbitrary bytes (with or without a SETTINGS prefix) end in frames or a coded WireError', () => {
  fc.assert(fc.property(fc.boolean(), fc.uint8Array({ maxLength: 600 }), cuts, (prefix, junk, cs) => {
    const bytes = Buffer.concat([prefix ? SETTINGS : Buffer.alloc(0), Buffer.from(junk)]);
    const r = feed(bytes, cs);
    if (r.error) expect(r.error.code).toMatch(/^WEFT_ERR_WIRE_/);
  }), { seed: SEED, numRuns: 1000 });
});

test('PROPERTY: valid streams with bytes flipped, dropped or inserted end in frames or a coded WireError', () => {
  const mutation = fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'drop', 'insert'));
  fc.assert(fc.property(fc.array(validFrame, { minLength: 1, maxLength: 8 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), cuts, (frames, muts, cs) => {
    const b = [...Buffer.concat([SETTINGS, ...frames])];
    for (const [at, byte, kind] of muts) {
      const i = at % b.length;
      if (kind === 'flip') b[i] ^= byte || 1;
      else if (kind === 'drop') b.splice(i, 1);
      else b.splice(i, 0, byte);
    }
    const r = feed(Buffer.from(b), cs);
    if (r.error) expect(r.error.code).toMatch(/^WEFT_ERR_WIRE_/);
  }), { seed: SEED, numRuns: 1000 });
});

test('a huge declared length is refused from the head alone (no buffering towards it)', () => {
  const r = feed(Buffer.concat([SETTINGS, Buffer.from([0xff, 0xff, 0xff, 1, 0, 0, 0, 0, 1])]), []);
  expect(r.error?.code).toBe('WEFT_ERR_WIRE_FRAME_TOO_LARGE');
});
