/**
 * The CRDs' admission rules: enums, bounds, list-map keys and CEL `x-kubernetes-validations` sit
 * where they should, the CRDs still pass the Kubernetes schema (kubernetes-models), and for each CEL
 * rule a sample object that breaks it is also refused by the model builder with the mirrored code.
 * (No CEL engine runs here: the rule text is checked structurally; its meaning by those samples.)
 */
import { RESERVED_PORT_LIST } from '../../api/bootstrap';
import { buildModel } from '../../api/build-model';
import { CEL_RESERVED_PORTS, CRD_LIMITS, CRD_RULES } from '../../api/crd-rules';
import { allCrds, crdFor } from '../../api/crds';
import type { Kind, WeftResource } from '../../api/resources';
import type { CelRule, OpenApiSchema } from '../../api/schema';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { CustomResourceDefinition } = require('kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition') as { CustomResourceDefinition: new (d: unknown) => { validate(): void } };

const specSchema = (kind: Kind) =>
  ((crdFor(kind).spec as { versions: { schema: { openAPIV3Schema: OpenApiSchema } }[] }).versions[0].schema.openAPIV3Schema.properties!.spec);
/** The schema node at a dotted path (`[]` steps into array items). */
function at(schema: OpenApiSchema, path: string): OpenApiSchema {
  let cur = schema;
  for (const step of path.split('.')) {
    if (step === '[]') cur = cur.items!;
    else cur = cur.properties![step];
    if (!cur) throw new Error(`no schema at ${path}`);
  }
  return cur;
}
const rulesAt = (kind: Kind, path: string) => at(specSchema(kind), path)['x-kubernetes-validations'];

test('every CRD still passes the Kubernetes CustomResourceDefinition schema', () => {
  for (const crd of allCrds()) expect(() => new CustomResourceDefinition(crd).validate()).not.toThrow();
});

test('every CEL rule is well-formed (a rule and a message, a known reason) and sits on its node', () => {
  const placed: [Kind, string, readonly CelRule[]][] = [
    ['CanaryRoute', 'routes.[]', CRD_RULES.routeRule],
    ['CanaryRoute', 'routes.[].fault.abort', CRD_RULES.abort],
    ['CanaryRoute', 'routes.[].match.[].path', CRD_RULES.stringMatch],
    ['CanaryRoute', 'routes.[].match.[].headers.[]', CRD_RULES.headerMatch],
    ['CanaryRoute', 'routes.[].match.[].query.[]', CRD_RULES.headerMatch],
    ['CanaryRoute', 'routes.[].retries.backoff', CRD_RULES.backoff],
    ['MeshService', 'trafficPolicy.retries.backoff', CRD_RULES.backoff],
    ['MeshService', 'trafficPolicy.loadBalancer', CRD_RULES.loadBalancer],
    ['MeshService', 'trafficPolicy.loadBalancer.hash', CRD_RULES.hash],
    ['MeshService', 'ports', CRD_RULES.ports],
    ['MeshService', 'ports.[]', CRD_RULES.port],
    ['MtlsPolicy', 'scope', CRD_RULES.scope],
  ];
  for (const [kind, path, rules] of placed) expect([kind, path, rulesAt(kind, path)]).toEqual([kind, path, rules]);
  for (const rules of Object.values(CRD_RULES)) {
    for (const r of rules as readonly CelRule[]) {
      expect(typeof r.rule).toBe('string');
      expect(r.message.length).toBeGreaterThan(0);
      expect([undefined, 'FieldValueInvalid', 'FieldValueDuplicate']).toContain(r.reason);
      // balanced brackets: a typo here would make the API server refuse the whole CRD
      for (const [o, c] of [['(', ')'], ['[', ']']]) expect(r.rule.split(o).length).toBe(r.rule.split(c).length);
    }
  }
});

test('structural admission: enums, patterns, bounds and list-map keys', () => {
  expect(at(specSchema('MtlsPolicy'), 'rules.[].action').enum).toEqual(['ALLOW', 'DENY', 'AUDIT']);
  expect(at(specSchema('MtlsPolicy'), 'mode').enum).toEqual(['STRICT', 'PERMISSIVE', 'DISABLE']);
  expect(at(specSchema('MtlsPolicy'), 'rules.[].to.[].methods.[]').pattern).toBe('^[A-Z]+$');
  expect(at(specSchema('CanaryRoute'), 'routes.[].backends.[].weight')).toMatchObject({ type: 'integer', minimum: 0, maximum: 100 });
  expect(at(specSchema('CanaryRoute'), 'routes.[].backends').maxItems).toBe(CRD_LIMITS.backends);
  expect(at(specSchema('CanaryRoute'), 'routes')).toMatchObject({ minItems: 1, maxItems: CRD_LIMITS.routes });
  expect(at(specSchema('MeshService'), 'ports')).toMatchObject({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'], maxItems: CRD_LIMITS.ports });
  expect(at(specSchema('MeshService'), 'versions')).toMatchObject({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] });
  // list-map keys must be required fields of the items, or the API server refuses the CRD
  expect(at(specSchema('MeshService'), 'ports.[]').required).toContain('name');
  expect(at(specSchema('MeshService'), 'versions.[]').required).toContain('name');
});

test('the CEL reserved ports are the sidecar\'s', () => {
  expect([...CEL_RESERVED_PORTS].sort()).toEqual([...RESERVED_PORT_LIST].sort());
});

describe('each CEL rule refuses what the model builder refuses (same samples)', () => {
  const res = (kind: string, name: string, spec: unknown) => ({ apiVersion: 'weft.dev/v1alpha1', kind, metadata: { name, namespace: 'shop' }, spec }) as WeftResource<unknown>;
  const svcSpec = (extra: Record<string, unknown> = {}) => ({ serviceAccount: 'web', interception: 'explicit', ports: [{ name: 'http', port: 8080, protocol: 'http' }], versions: [{ name: 'v1', replicas: 1 }, { name: 'v2', replicas: 1 }], ...extra });
  const verdict = (r: WeftResource<unknown>) => {
    const all = buildModel(r.kind === 'MeshService' ? [r] : [res('MeshService', 'web', svcSpec()), r], []).statuses;
    return all.find((s) => s.kind === r.kind && s.name === r.metadata.name)!;
  };
  const route = (rule: Record<string, unknown>) => res('CanaryRoute', 'r', { service: { name: 'web' }, routes: [rule] });
  const cases: [string, WeftResource<unknown>, string][] = [
    ['routeRule: weights sum to 100', route({ backends: [{ version: 'v1', weight: 60 }, { version: 'v2', weight: 50 }] }), 'WEFT_ERR_MODEL_INVALID_WEIGHTS'],
    ['routeRule: a version once', route({ backends: [{ version: 'v1', weight: 50 }, { version: 'v1', weight: 50 }] }), 'WEFT_ERR_MODEL_DUPLICATE'],
    ['routeRule: one terminal action', route({ backends: [{ version: 'v1', weight: 100 }], directResponse: { status: 200 } }), 'WEFT_ERR_MODEL_CONTRADICTION'],
    ['abort: exactly one status', route({ fault: { abort: { percent: 10 } } }), 'WEFT_ERR_MODEL_CONTRADICTION'],
    ['stringMatch: one of exact/prefix/regex', route({ match: [{ path: { exact: '/a', prefix: '/b' } }] }), 'WEFT_ERR_MODEL_INVALID_MATCH'],
    ['headerMatch: one of exact/regex/present', route({ match: [{ headers: [{ name: 'x', exact: 'a', present: true }] }] }), 'WEFT_ERR_MODEL_INVALID_MATCH'],
    ['backoff: max ≥ base', route({ retries: { attempts: 2, on: ['5xx'], backoff: { base: '2s', max: '1s' } } }), 'WEFT_ERR_MODEL_CONTRADICTION'],
    ['loadBalancer: hash needs consistent-hash', res('MeshService', 'web', svcSpec({ trafficPolicy: { loadBalancer: { policy: 'round-robin', hash: { header: 'x' } } } })), 'WEFT_ERR_MODEL_CONTRADICTION'],
    ['hash: header or cookie', res('MeshService', 'web', svcSpec({ trafficPolicy: { loadBalancer: { policy: 'consistent-hash', hash: { header: 'x', cookie: 'y' } } } })), 'WEFT_ERR_MODEL_CONTRADICTION'],
    ['port: not reserved', res('MeshService', 'web', svcSpec({ ports: [{ name: 'http', port: 15006, protocol: 'http' }] })), 'WEFT_ERR_MODEL_RESERVED_PORT'],
    ['ports: a number once', res('MeshService', 'web', svcSpec({ ports: [{ name: 'a', port: 80, protocol: 'http' }, { name: 'b', port: 80, protocol: 'http' }] })), 'WEFT_ERR_MODEL_DUPLICATE'],
    ['scope: port needs service', res('MtlsPolicy', 'p', { scope: { port: 8080 }, rules: [{ action: 'DENY' }] }), 'WEFT_ERR_MODEL_CONTRADICTION'],
  ];
  test.each(cases)('%s', (_name, sample, code) => {
    expect(verdict(sample)).toMatchObject({ accepted: false, code });
  });
  test('a sample that keeps every rule is accepted', () => {
    expect(verdict(route({ match: [{ path: { prefix: '/a' }, headers: [{ name: 'x', exact: 'a' }] }], backends: [{ version: 'v1', weight: 90 }, { version: 'v2', weight: 10 }], retries: { attempts: 2, on: ['5xx'], backoff: { base: '25ms', max: '250ms' } }, fault: { abort: { httpStatus: 503, percent: 1 } } }))).toMatchObject({ accepted: true });
  });
});
