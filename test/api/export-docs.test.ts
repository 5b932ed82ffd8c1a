/** docs/export.md shows the exporter's real output: each YAML object there equals what exportMesh(bookinfo) writes. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Chart, Testing } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { exportMesh } from '../../constructs';
import { bookinfo } from '../../examples/bookinfo/mesh';

test('GIVEN docs/export.md THEN every YAML object in it equals the bookinfo export of the same kind and name', () => {
  const chart = new Chart(Testing.app(), 'bookinfo', { namespace: 'bookinfo' });
  bookinfo(chart);
  const istio = exportMesh(chart, 'istio').objects;
  const gamma = exportMesh(chart, 'gateway-api').objects;
  const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'export.md'), 'utf8');
  const shown = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].flatMap((m) => parseAllDocuments(m[1]).map((d) => d.toJS()));
  expect(shown.length).toBeGreaterThanOrEqual(6);
  const kinds = new Set<string>();
  for (const o of shown) {
    const same = (x: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }) =>
      x.apiVersion === o.apiVersion && x.kind === o.kind && x.metadata.name === o.metadata.name && x.metadata.namespace === o.metadata.namespace;
    const found = [...istio, ...gamma].filter(same);
    expect({ kind: o.kind, name: o.metadata.name, found: found.length > 0 }).toEqual({ kind: o.kind, name: o.metadata.name, found: true });
    for (const f of found) expect(JSON.parse(JSON.stringify(f))).toEqual(o);
    kinds.add(o.kind);
  }
  expect([...kinds].sort()).toEqual(['AuthorizationPolicy', 'DestinationRule', 'HTTPRoute', 'PeerAuthentication', 'Service', 'VirtualService']);
});
