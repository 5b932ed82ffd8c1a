/** The hand-written DiscoveryResponse encoder and the shared response plans, against protobufjs decoding. */
import { encodeResource, XdsObject } from '../../../api/xds/codec';
import { CLUSTER, ENDPOINT, LISTENER, lookupTypeUrl, ROUTE } from '../../../api/xds/protos';
import { namesWithin, planResponse, referencedIn, sharedPlan } from '../../../control-plane/xds/plan';
import { Entry, hashBytes } from '../../../control-plane/xds/snapshot';
import { decodeRequest, decodeRequestFull, encodeResponse } from '../../../control-plane/xds/wire';

const RESP = lookupTypeUrl('type.googleapis.com/envoy.service.discovery.v3.DiscoveryResponse')!;
const entry = (name: string, size: number, refs: [string, string[]][] = []): Entry => {
  const bytes = Buffer.alloc(size, name.charCodeAt(0));
  return { name, bytes, hash: hashBytes(bytes), refs: new Map(refs) };
};
const decode = (b: Buffer) => RESP.toObject(RESP.decode(b), { defaults: false }) as {
  version_info?: string; type_url?: string; nonce?: string; control_plane?: { identifier?: string }; resources?: { type_url: string; value: Uint8Array }[];
};

describe('encodeResponse', () => {
  test('decodes with protobufjs to the same fields, with 1-, 2- and 3-byte length varints', () => {
    const entries = [entry('a', 3), entry('b', 200), entry('c', 20_000), entry('d', 0)];
    const m = decode(encodeResponse(CLUSTER, 'v1abc', '42', entries, 'weft-cp'));
    expect(m.version_info).toBe('v1abc');
    expect(m.type_url).toBe(CLUSTER);
    expect(m.nonce).toBe('42');
    expect(m.control_plane?.identifier).toBe('weft-cp');
    expect(m.resources!.map((r) => r.type_url)).toEqual(entries.map(() => CLUSTER));
    expect(m.resources!.map((r) => Buffer.from(r.value ?? []).equals(Buffer.from(entries[m.resources!.indexOf(r)].bytes)))).toEqual([true, true, true, true]);
  });

  test('an empty response (no resources) still carries version, type and nonce', () => {
    const m = decode(encodeResponse(ROUTE, 'v', '1', [], 'x'));
    expect(m).toEqual(expect.objectContaining({ version_info: 'v', type_url: ROUTE, nonce: '1' }));
    expect(m.resources ?? []).toEqual([]);
  });

});

describe('response plans', () => {
  test('an oversize RDS/EDS set is split under the budget in order; oversize LDS/CDS has no chunks', () => {
    const entries = Array.from({ length: 10 }, (_, i) => entry(`r${i}`, 100));
    const p = planResponse(ROUTE, entries, 500, true);
    expect(p.oversize).toBe(true);
    expect(p.chunks.length).toBeGreaterThan(1);
    expect(p.chunks.flatMap((c) => c.order)).toEqual(entries.map((e) => e.name));
    for (const c of p.chunks) expect(c.body.length).toBeLessThanOrEqual(500);
    const lds = planResponse(LISTENER, entries, 500, false);
    expect(lds).toEqual(expect.objectContaining({ oversize: true, chunks: [] }));
  });

  test('sharedPlan is computed once per snapshot map (every stream gets the same body buffer)', () => {
    const m = new Map([['a', entry('a', 5)], ['b', entry('b', 6)]]);
    const p1 = sharedPlan(CLUSTER, m, 1 << 20, false);
    expect(sharedPlan(CLUSTER, m, 1 << 20, false)).toBe(p1);
    expect(sharedPlan(CLUSTER, new Map(m), 1 << 20, false)).not.toBe(p1);
    expect(p1.chunks[0].order).toEqual(['a', 'b']);
  });

  test('namesWithin and referencedIn', () => {
    const a = new Map([['x', entry('x', 1, [[CLUSTER, ['c1', 'c2']]])]]);
    const b = new Map([['x', entry('x', 1)], ['y', entry('y', 1, [[CLUSTER, ['c3']]])]]);
    expect(namesWithin(a, b)).toBe(true);
    expect(namesWithin(b, a)).toBe(false);
    expect([...referencedIn(b, CLUSTER)]).toEqual(['c3']);
    expect([...referencedIn(a, CLUSTER)].sort()).toEqual(['c1', 'c2']);
  });
});

describe('decodeRequest', () => {
  const REQ = 'type.googleapis.com/envoy.service.discovery.v3.DiscoveryRequest';
  const cases: XdsObject[] = [
    {},
    { type_url: CLUSTER },
    { type_url: ROUTE, version_info: 'abc', response_nonce: '12', resource_names: ['a', 'b', 'ü-ñ', ''] },
    { type_url: ROUTE, response_nonce: '3', error_detail: { code: 3, message: 'resource index 0: bad' } },
    { type_url: ROUTE, response_nonce: '3', error_detail: { message: '' } },
    { type_url: ROUTE, response_nonce: '3', error_detail: { code: 0 } },
    { type_url: ROUTE, error_detail: { code: 2, message: 'x', details: [{ '@type': 'type.googleapis.com/google.protobuf.Duration', seconds: 1 }] } },
    { node: { id: 'n1', user_agent_name: 'weft-proxy', metadata: { service: 's', endpoint: { address: '10.0.0.1', ports: { http: 1 } } } }, type_url: LISTENER, resource_names: [] },
    { type_url: ENDPOINT, resource_names: Array.from({ length: 300 }, (_, i) => `svc-${i}.default|v1`) },
  ];
  test.each(cases.map((c, i) => [i, c]))('case %i: the fast path decodes exactly as the full decoder', (_i, c) => {
    const bytes = Buffer.from(encodeResource(REQ, c as XdsObject));
    expect(decodeRequest(bytes)).toEqual(decodeRequestFull(bytes));
  });

  test('malformed bytes fall back to the full decoder and fail with its codec error', () => {
    const bytes = Buffer.from(encodeResource(REQ, { type_url: ROUTE, response_nonce: '123456' }));
    const tagOnly = bytes.subarray(0, bytes.indexOf(0x2a) + 1); // a field tag with no length
    expect(() => decodeRequestFull(tagOnly)).toThrow(expect.objectContaining({ code: 'WEFT_ERR_XDS_DECODE' }));
    expect(() => decodeRequest(tagOnly)).toThrow(expect.objectContaining({ code: 'WEFT_ERR_XDS_DECODE' }));
    // A length past the end: protobufjs reads strings leniently; the fast path must agree with it.
    const short = bytes.subarray(0, bytes.length - 2);
    expect(decodeRequest(short)).toEqual(decodeRequestFull(short));
  });
});
