/**
 * The packed weft-mesh reads the Envoy types from one JSON descriptor (package/build.ts writes it
 * from the same .proto files): it must describe exactly what the .proto files do and encode alike.
 */
import * as protobuf from 'protobufjs';
import { CLUSTER, ENDPOINT, LISTENER, loadProtoFiles, ROUTE, TYPES } from '../../api/xds/protos';

const fromProtos = loadProtoFiles();
fromProtos.resolveAll();
const json = JSON.stringify(fromProtos.toJSON());
const fromDescriptor = protobuf.Root.fromJSON(JSON.parse(json) as protobuf.INamespace);
fromDescriptor.resolveAll();

test('the descriptor round-trips to itself (nothing lost between the .proto files and the JSON)', () => {
  // protobufjs drops per-enum-value options (`valuesOptions`: deprecation annotations) when it
  // reads JSON back; they never reach the wire, so the comparison leaves them out.
  const noValueOptions = (_k: string, v: unknown) => (_k === 'valuesOptions' ? undefined : v);
  expect(JSON.stringify(fromDescriptor.toJSON(), noValueOptions)).toBe(JSON.stringify(JSON.parse(json), noValueOptions));
});

test.each([LISTENER, ROUTE, CLUSTER, ENDPOINT, ...Object.values(TYPES)])('%s has the same fields, ids and types', (url) => {
  const name = url.slice(url.lastIndexOf('/') + 1);
  const shape = (t: protobuf.Type) => Object.values(t.fields).map((f) => `${f.id}:${f.name}:${f.repeated ? 'repeated ' : ''}${f.resolvedType?.fullName ?? f.type}`);
  expect(shape(fromDescriptor.lookupType(name))).toEqual(shape(fromProtos.lookupType(name)));
});

test('a Listener with a typed_config encodes to the same bytes', () => {
  const obj = {
    name: 'outbound', address: { socket_address: { address: '0.0.0.0', port_value: 15001 } },
    filter_chains: [{ filters: [{ name: 'hcm', typed_config: { type_url: TYPES.HCM, value: Buffer.from([8, 1]) } }] }],
  };
  const enc = (root: protobuf.Root) => {
    const t = root.lookupType('envoy.config.listener.v3.Listener');
    return Buffer.from(t.encode(t.fromObject(obj)).finish()).toString('hex');
  };
  expect(enc(fromDescriptor)).toBe(enc(fromProtos));
  expect(enc(fromDescriptor).length).toBeGreaterThan(20);
});
