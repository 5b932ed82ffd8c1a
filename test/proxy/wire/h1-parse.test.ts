/**
 * The lean HTTP/1.1 parser and serializer: the smuggling and oversize catalogue weft enforces today
 * (test/proxy/hardening/h1.int.test.ts) refused with codes, framing by content-length, chunked with
 * trailers, close-delimited and tunnels, any chunking, and a fast-check fuzz of arbitrary input.
 */
import fc from 'fast-check';
import { H1Error, type H1Head } from '../../../proxy/wire/h1-head';
import { H1Parser, type H1Sink } from '../../../proxy/wire/h1-parse';
import { chunkHead, CRLF, lastChunk, requestHead, responseHead } from '../../../proxy/wire/h1-write';

interface Msg { head: H1Head; body: string; trailers?: string[]; ended: boolean }

function collector(): { sink: H1Sink; msgs: Msg[] } {
  const msgs: Msg[] = [];
  const sink: H1Sink = {
    onHead: (head) => msgs.push({ head, body: '', ended: false }),
    onBody: (c) => (msgs[msgs.length - 1].body += c.toString('latin1')),
    onTrailers: (t) => (msgs[msgs.length - 1].trailers = t),
    onEnd: () => (msgs[msgs.length - 1].ended = true),
  };
  return { sink, msgs };
}

function parse(text: string | Buffer, opts: { request?: boolean; step?: number; methods?: string[]; finish?: boolean } = {}): Msg[] {
  const { sink, msgs } = collector();
  const p = new H1Parser(sink, { request: opts.request ?? true });
  for (const m of opts.methods ?? []) p.expect(m);
  const b = Buffer.isBuffer(text) ? text : Buffer.from(text, 'latin1');
  const step = opts.step ?? b.length;
  for (let i = 0; i < b.length; i += step) p.push(b.subarray(i, i + step));
  if (opts.finish) p.finish();
  return msgs;
}

function code(text: string, request = true): string | undefined {
  try {
    parse(text, { request, finish: true });
  } catch (e) {
    expect(e).toBeInstanceOf(H1Error);
    return (e as H1Error).code;
  }
  return undefined;
}

const hs = (n: number): string => Array.from({ length: n }, (_, i) => `x-h${i}: v\r\n`).join('');

test.each([
  ['CL + TE (#1)', 'POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n', 'WEFT_ERR_H1_BAD_FRAMING'],
  ['TE xchunked (#2)', 'POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: xchunked\r\n\r\n', 'WEFT_ERR_H1_BAD_FRAMING'],
  ['TE chunked, identity (#2)', 'POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked, identity\r\n\r\n', 'WEFT_ERR_H1_BAD_FRAMING'],
  ['TE twice, chunked first (#2)', 'POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\ntransfer-encoding: gzip\r\n\r\n', 'WEFT_ERR_H1_BAD_FRAMING'],
  ['space before colon (#2)', 'POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding : chunked\r\n\r\n', 'WEFT_ERR_H1_BAD_HEADER'],
  ['two Content-Length (#3)', 'POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\nabc', 'WEFT_ERR_H1_BAD_FRAMING'],
  ['Content-Length +3 (#3)', 'POST / HTTP/1.1\r\nhost: a\r\ncontent-length: +3\r\n\r\nabc', 'WEFT_ERR_H1_BAD_FRAMING'],
  ['Content-Length overflow (#3)', 'POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 99999999999999999999999\r\n\r\nabc', 'WEFT_ERR_H1_BAD_FRAMING'],
  ['Content-Length list (#3)', 'POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 3, 3\r\n\r\nabc', 'WEFT_ERR_H1_BAD_FRAMING'],
  ['TE on HTTP/1.0', 'POST / HTTP/1.0\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n', 'WEFT_ERR_H1_BAD_FRAMING'],
  ['duplicate Host (#8)', 'GET / HTTP/1.1\r\nhost: a\r\nhost: b\r\n\r\n', 'WEFT_ERR_H1_BAD_HOST'],
  ['missing Host (#8)', 'GET / HTTP/1.1\r\n\r\n', 'WEFT_ERR_H1_BAD_HOST'],
  ['CR in a value (#5)', 'GET / HTTP/1.1\r\nhost: a\r\nx-a: b\rc\r\n\r\n', 'WEFT_ERR_H1_BAD_HEADER'],
  ['NUL in a value (#5)', 'GET / HTTP/1.1\r\nhost: a\r\nx-a: b\u0000c\r\n\r\n', 'WEFT_ERR_H1_BAD_HEADER'],
  ['bare LF line end', 'GET / HTTP/1.1\nhost: a\n\n', 'WEFT_ERR_H1_BAD_HEADER'],
  ['bare LF in a field line', 'GET / HTTP/1.1\r\nhost: a\nx-a: b\r\n\r\n', 'WEFT_ERR_H1_BAD_HEADER'],
  ['obs-fold', 'GET / HTTP/1.1\r\nhost: a\r\nx-a: b\r\n c\r\n\r\n', 'WEFT_ERR_H1_BAD_HEADER'],
  ['non-token name', 'GET / HTTP/1.1\r\nhost: a\r\nx(a): b\r\n\r\n', 'WEFT_ERR_H1_BAD_HEADER'],
  ['two spaces in the request line', 'GET  / HTTP/1.1\r\nhost: a\r\n\r\n', 'WEFT_ERR_H1_BAD_START_LINE'],
  ['space in the target', 'GET /a b HTTP/1.1\r\nhost: a\r\n\r\n', 'WEFT_ERR_H1_BAD_START_LINE'],
  ['HTTP/2.0 version', 'GET / HTTP/2.0\r\nhost: a\r\n\r\n', 'WEFT_ERR_H1_BAD_START_LINE'],
  ['lower-case version', 'GET / http/1.1\r\nhost: a\r\n\r\n', 'WEFT_ERR_H1_BAD_START_LINE'],
  ['more than 100 fields (#7)', `GET / HTTP/1.1\r\nhost: a\r\n${hs(100)}\r\n`, 'WEFT_ERR_H1_HEAD_TOO_LARGE'],
  ['2000 fields (#7)', `GET / HTTP/1.1\r\nhost: a\r\n${hs(2000)}\r\n`, 'WEFT_ERR_H1_HEAD_TOO_LARGE'],
  ['head over 60 KiB (#6)', `GET / HTTP/1.1\r\nhost: a\r\n${Array.from({ length: 8 }, (_, i) => `x-big-${i}: ${'x'.repeat(8000)}\r\n`).join('')}\r\n`, 'WEFT_ERR_H1_HEAD_TOO_LARGE'],
  ['head over 60 KiB without an end', `GET / HTTP/1.1\r\nhost: a\r\nx-big: ${'x'.repeat(70_000)}`, 'WEFT_ERR_H1_HEAD_TOO_LARGE'],
  ['bad chunk size', 'POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n', 'WEFT_ERR_H1_BAD_CHUNK'],
  ['chunk size with a bare LF', 'POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n', 'WEFT_ERR_H1_BAD_CHUNK'],
  ['chunk data without CRLF', 'POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n', 'WEFT_ERR_H1_BAD_CHUNK'],
  ['chunk size over 2^52', 'POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\nfffffffffffffff\r\n', 'WEFT_ERR_H1_BAD_CHUNK'],
  ['trailer with a control', 'POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n0\r\nx-t: a\u0001\r\n\r\n', 'WEFT_ERR_H1_BAD_HEADER'],
  ['a body cut short', 'POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 10\r\n\r\nabc', 'WEFT_ERR_H1_INCOMPLETE'],
])('request %s → %s', (_name, text, want) => {
  expect(code(text)).toBe(want);
});

test('431 for oversize heads, 400 for the rest (the status a client gets)', () => {
  expect(new H1Error('WEFT_ERR_H1_HEAD_TOO_LARGE', 'x').status).toBe(431);
  expect(new H1Error('WEFT_ERR_H1_BAD_FRAMING', 'x').status).toBe(400);
});

test('limits hold at the edge: exactly 100 fields and a head just under 60 KiB are accepted', () => {
  expect(parse(`GET / HTTP/1.1\r\nhost: a\r\n${hs(99)}\r\n`)[0].head.fields).toHaveLength(200);
  const big = Array.from({ length: 6 }, (_, i) => `x-big-${i}: ${'y'.repeat(8000)}\r\n`).join('');
  expect(parse(`GET / HTTP/1.1\r\nhost: a\r\n${big}\r\n`)[0].ended).toBe(true);
});

const pipelined = 'GET /a HTTP/1.1\r\nHost: svc\r\nX-Mixed-Case:  padded value \t\r\n\r\n' +
  '\r\nPOST /b?q=1 HTTP/1.1\r\nhost: svc\r\ncontent-length: 5\r\n\r\nhello' +
  'PUT /c HTTP/1.1\r\nhost: svc\r\ntransfer-encoding: gzip, chunked\r\n\r\n3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nx-trailer: t1\r\ngrpc-status: 0\r\n\r\n' +
  'GET /d HTTP/1.0\r\n\r\n';

test('pipelined requests parse the same whole and byte by byte', () => {
  const whole = parse(pipelined);
  expect(whole.map((m) => [m.head.method, m.head.target, m.body, m.trailers, m.ended, m.head.keepAlive, m.head.body])).toEqual([
    ['GET', '/a', '', undefined, true, true, 'none'],
    ['POST', '/b?q=1', 'hello', undefined, true, true, 'length'],
    ['PUT', '/c', 'abc0123456789abcdef', ['x-trailer', 't1', 'grpc-status', '0'], true, true, 'chunked'],
    ['GET', '/d', '', undefined, true, false, 'none'],
  ]);
  expect(whole[0].head.fields).toEqual(['host', 'svc', 'x-mixed-case', 'padded value']);
  for (const step of [1, 2, 3, 7, 64]) expect(parse(pipelined, { step })).toEqual(whole);
});

test('responses: HEAD, 204 and 304 have no body; 1xx precede the final head; chunked with trailers; close-delimited', () => {
  const text = 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n' + // answers HEAD: no body follows
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n' +
    'HTTP/1.1 304 Not Modified\r\ncontent-length: 9\r\n\r\n' +
    'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\ngrpc-status: 0\r\n\r\n' +
    'HTTP/1.1 200\r\n\r\nuntil the connection closes';
  const methods = ['HEAD', 'POST', 'GET', 'POST', 'GET'];
  const whole = parse(text, { request: false, methods, finish: true });
  expect(whole.map((m) => [m.head.status, m.body, m.trailers, m.ended])).toEqual([
    [200, '', undefined, true],
    [100, '', undefined, false],
    [204, '', undefined, true],
    [304, '', undefined, true],
    [200, 'ok', ['grpc-status', '0'], true],
    [200, 'until the connection closes', undefined, true],
  ]);
  expect(parse(text, { request: false, methods, finish: true, step: 3 })).toEqual(whole);
  expect(code('HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n', false)).toBe('WEFT_ERR_H1_BAD_FRAMING');
  expect(code('HTTP/1.1 2000 OK\r\n\r\n', false)).toBe('WEFT_ERR_H1_BAD_START_LINE');
});

test('Upgrade, CONNECT and 101 are tunnels: the parser stops and hands over the bytes past the head', () => {
  const { sink, msgs } = collector();
  const p = new H1Parser(sink, { request: true });
  p.push(Buffer.from('GET /ws HTTP/1.1\r\nhost: a\r\nconnection: Upgrade\r\nupgrade: websocket\r\n\r\n\x81\x05hello', 'latin1'));
  p.push(Buffer.from('more'));
  expect(msgs[0].head.upgrade).toBe(true);
  expect(msgs[0].head.body).toBe('tunnel');
  expect(p.takeRemainder().toString('latin1')).toBe('\x81\x05hellomore');
  expect(parse('CONNECT a:443 HTTP/1.1\r\nhost: a:443\r\n\r\n')[0].head.body).toBe('tunnel');
  expect(parse('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n', { request: false, methods: ['GET'] })[0].head.upgrade).toBe(true);
});

test('pause() stops delivery at once; resume() continues with what was kept', () => {
  const { sink, msgs } = collector();
  const p = new H1Parser(sink, { request: true });
  sink.onEnd = () => {
    msgs[msgs.length - 1].ended = true;
    p.pause(); // one request at a time: the next waits until this one is answered
  };
  p.push(Buffer.from(pipelined, 'latin1'));
  expect(msgs).toHaveLength(1);
  p.resume();
  expect(msgs).toHaveLength(2);
  p.resume();
  p.resume();
  expect(msgs.map((m) => m.head.target)).toEqual(['/a', '/b?q=1', '/c', '/d']);
  expect(p.idle).toBe(true);
});

test('serializer: heads and chunks round-trip through the parser; CR/LF/NUL values and bad names are refused', () => {
  const wire = Buffer.concat([
    requestHead('POST', '/x', ['host', 'svc', 'transfer-encoding', 'chunked', 'x-a', 'b']),
    chunkHead(3), Buffer.from('abc'), CRLF,
    lastChunk(['x-t', '1', 'content-length', '5', 'grpc-status', '0']),
  ]);
  const [m] = parse(wire, { step: 5 });
  expect(m.body).toBe('abc');
  expect(m.trailers).toEqual(['x-t', '1', 'grpc-status', '0']);
  const [r] = parse(Buffer.concat([responseHead(200, 'OK', ['content-length', '2']), Buffer.from('ok')]), { request: false, methods: ['GET'] });
  expect([r.head.status, r.body, r.ended]).toEqual([200, 'ok', true]);
  expect(() => requestHead('GET', '/', ['x-a', 'b\r\nx-evil: 1'])).toThrow(expect.objectContaining({ code: 'WEFT_ERR_H1_BAD_HEADER' }));
  expect(() => requestHead('GET', '/', ['x-a', 'b\u0000'])).toThrow(expect.objectContaining({ code: 'WEFT_ERR_H1_BAD_HEADER' }));
  expect(() => responseHead(200, 'OK', ['x a', 'b'])).toThrow(expect.objectContaining({ code: 'WEFT_ERR_H1_BAD_HEADER' }));
  expect(() => requestHead('GET', '/a b', [])).toThrow(expect.objectContaining({ code: 'WEFT_ERR_H1_BAD_START_LINE' }));
});

test('PROPERTY: arbitrary bytes in arbitrary chunks end in messages or a coded H1Error (requests and responses)', () => {
  const prefix = fc.constantFrom('', 'GET / HTTP/1.1\r\nhost: a\r\n', 'POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n', 'HTTP/1.1 200 OK\r\n');
  fc.assert(fc.property(fc.boolean(), prefix, fc.uint8Array({ maxLength: 400 }), fc.array(fc.nat(), { maxLength: 8 }), (request, pre, junk, cuts) => {
    const b = Buffer.concat([Buffer.from(pre, 'latin1'), Buffer.from(junk)]);
    const { sink } = collector();
    const p = new H1Parser(sink, { request });
    p.expect('GET');
    const points = [...new Set(cuts.map((c) => c % (b.length + 1)))].sort((x, y) => x - y);
    let prev = 0;
    try {
      for (const at of [...points, b.length]) {
        p.push(b.subarray(prev, at));
        prev = at;
      }
      p.finish();
    } catch (e) {
      if (!(e instanceof H1Error)) throw e;
      expect(e.code).toMatch(/^WEFT_ERR_H1_/);
    }
  }), { seed: 0x5eed13, numRuns: 1500 });
});

test('PROPERTY: valid requests with random bodies and chunking parse the same as whole', () => {
  const req = fc.record({
    body: fc.uint8Array({ maxLength: 300 }),
    chunked: fc.boolean(),
    pieces: fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 6 }),
    trailers: fc.array(fc.tuple(fc.stringMatching(/^x-[a-z]{1,6}$/), fc.stringMatching(/^[ -~]{0,10}$/).map((s) => s.trim())), { maxLength: 3 }),
  });
  fc.assert(fc.property(fc.array(req, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 97 }), (reqs, step) => {
    const parts: Buffer[] = [];
    for (const r of reqs) {
      const body = Buffer.from(r.body);
      if (r.chunked) {
        parts.push(requestHead('POST', '/u', ['host', 'a', 'transfer-encoding', 'chunked']));
        let off = 0;
        for (const n of [...r.pieces, body.length]) {
          const piece = body.subarray(off, off + n);
          off += piece.length;
          if (piece.length > 0) parts.push(chunkHead(piece.length), piece, CRLF);
        }
        parts.push(lastChunk(r.trailers.flat()));
      } else parts.push(requestHead('POST', '/u', ['host', 'a', 'content-length', String(body.length)]), body);
    }
    const wire = Buffer.concat(parts);
    const msgs = parse(wire, { step });
    expect(msgs.map((m) => m.body)).toEqual(reqs.map((r) => Buffer.from(r.body).toString('latin1')));
    expect(msgs.every((m) => m.ended)).toBe(true);
  }), { seed: 0x5eed13, numRuns: 300 });
});
