/** The hand-written DiscoveryResponse encoder and the shared response plans, against protobufjs decoding. */
import { lookupTypeUrl } from '../../../api/xds/protos';
import { CLUSTER, LISTENER, ROUTE } from '../../../api/xds/protos';
import { namesWithin, planResponse, referencedIn, sharedPlan } from '../../../control-plane/xds/plan';
import { Entry, hashBytes } from '../../../control-plane/xds/snapshot';
import { encodeResponse, outgoing } from '../../../control-plane/xds/wire';

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

  test('outgoing() keeps the shared body by reference and sizes head + body', () => {
    const body = planResponse(CLUSTER, [entry('a', 10)], 1 << 20, false).chunks[0].body;
    const r = outgoing(CLUSTER, 'v', '7', body, 'id');
    expect(r.body).toBe(body);
    expect(r.size).toBe(r.head.length + body.length);
    expect(decode(Buffer.concat([r.head, r.body])).nonce).toBe('7');
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
