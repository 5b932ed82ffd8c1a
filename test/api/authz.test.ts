import { authorize, compilePolicies, denialHeader } from '../../api/authz';
import type { PolicyModel, PolicyRuleModel } from '../../api/model';

const ID = (ns: string, sa: string) => `spiffe://shop.local/ns/${ns}/sa/${sa}`;
const dest = { service: 'cart', namespace: 'shop' };
const rule = (id: string, action: PolicyRuleModel['action'], from: PolicyRuleModel['from'] = [], to: PolicyRuleModel['to'] = []): PolicyRuleModel => ({ id: `shop/${id}`, action, from, to });
const peer = (p: Partial<{ principals: string[]; namespaces: string[] }>) => ({ principals: p.principals ?? [], namespaces: p.namespaces ?? [] });
const op = (o: Partial<{ paths: string[]; methods: string[]; ports: number[] }>) => ({ paths: o.paths ?? [], methods: o.methods ?? [], ports: o.ports ?? [] });
const pol = (...rules: PolicyRuleModel[]): PolicyModel[] => [{ ...dest, rules }];
const req = (over: Partial<Parameters<typeof authorize>[1]> = {}) => ({ principal: ID('shop', 'web'), destination: dest, port: 8080, path: '/', method: 'GET', ...over });

describe('Istio evaluation order', () => {
  test('no policy: allowed by default, or denied where the mesh default says deny', () => {
    expect(authorize([], req())).toMatchObject({ allowed: true, reason: 'default_allow' });
    expect(authorize([], req(), { defaultInboundPolicy: 'deny' })).toMatchObject({ allowed: false, reason: 'default_deny' });
  });

  test('DENY beats ALLOW, and the decision names the DENY rule', () => {
    const p = pol(rule('p#allow-web', 'ALLOW', [peer({ principals: [ID('shop', 'web')] })]), rule('p#deny-admin', 'DENY', [], [op({ paths: ['/admin/*'] })]));
    expect(authorize(p, req({ path: '/admin/users' }))).toEqual({ allowed: false, reason: 'denied_by_policy', policy: 'shop/p#deny-admin', audited: [] });
    expect(authorize(p, req({ path: '/cart' }))).toMatchObject({ allowed: true, reason: 'allowed_by_policy', policy: 'shop/p#allow-web' });
  });

  test('once an ALLOW exists, anything it does not match is denied, naming the policy', () => {
    const p = pol(rule('p#web', 'ALLOW', [peer({ principals: [ID('shop', 'web')] })]));
    const d = authorize(p, req({ principal: ID('shop', 'batch') }));
    expect(d).toMatchObject({ allowed: false, reason: 'no_matching_allow', policy: 'shop/p' });
    expect(denialHeader(d)).toBe('no_matching_allow; policy=shop/p');
    // The mesh default no longer matters once an ALLOW applies.
    expect(authorize(p, req(), { defaultInboundPolicy: 'deny' })).toMatchObject({ allowed: true });
  });

  test('AUDIT only records, never decides', () => {
    const p = pol(rule('p#audit', 'AUDIT', [], [op({ methods: ['DELETE'] })]));
    expect(authorize(p, req({ method: 'DELETE' }))).toEqual({ allowed: true, reason: 'default_allow', audited: ['shop/p#audit'] });
    expect(authorize(p, req({ method: 'GET' })).audited).toEqual([]);
    const withDeny = pol(rule('p#audit', 'AUDIT'), rule('p#deny', 'DENY'));
    expect(authorize(withDeny, req())).toMatchObject({ allowed: false, audited: ['shop/p#audit'] });
  });

  test('only the destination\'s policies apply', () => {
    const other: PolicyModel[] = [{ service: 'payments', namespace: 'shop', rules: [rule('q#deny', 'DENY')] }];
    expect(authorize(other, req())).toMatchObject({ allowed: true, reason: 'default_allow' });
  });
});

describe('matching', () => {
  const allow = (from: PolicyRuleModel['from'], to: PolicyRuleModel['to'] = []) => pol(rule('p#r', 'ALLOW', from, to));
  test.each([
    ['exact principal', [peer({ principals: [ID('shop', 'web')] })], [], req(), true],
    ['principal without scheme (Istio spelling)', [peer({ principals: ['shop.local/ns/shop/sa/web'] })], [], req(), true],
    ['principal prefix wildcard', [peer({ principals: ['spiffe://shop.local/ns/shop/*'] })], [], req(), true],
    ['principal suffix wildcard', [peer({ principals: ['*/sa/web'] })], [], req(), true],
    ['principal suffix wildcard, other sa', [peer({ principals: ['*/sa/web'] })], [], req({ principal: ID('shop', 'webby') }), false],
    ['namespace (from the principal)', [peer({ namespaces: ['shop'] })], [], req(), true],
    ['namespace mismatch', [peer({ namespaces: ['ops'] })], [], req(), false],
    ['namespace prefix wildcard', [peer({ namespaces: ['sh*'] })], [], req(), true],
    ['principal AND namespace within one source', [peer({ principals: [ID('shop', 'web')], namespaces: ['ops'] })], [], req(), false],
    ['sources are OR-ed', [peer({ namespaces: ['ops'] }), peer({ principals: [ID('shop', 'web')] })], [], req(), true],
    ['path exact', [], [op({ paths: ['/cart'] })], req({ path: '/cart?x=1' }), true],
    ['path exact is not a prefix', [], [op({ paths: ['/cart'] })], req({ path: '/cart/1' }), false],
    ['path prefix /x/*', [], [op({ paths: ['/api/*'] })], req({ path: '/api/v1/items' }), true],
    ['path suffix', [], [op({ paths: ['*.json'] })], req({ path: '/a/b.json' }), true],
    ['method', [], [op({ methods: ['POST'] })], req({ method: 'post' }), true],
    ['method mismatch', [], [op({ methods: ['POST'] })], req(), false],
    ['port', [], [op({ ports: [9090] })], req(), false],
    ['port and path AND-ed', [], [op({ ports: [8080], paths: ['/x'] })], req({ path: '/x' }), true],
    ['plaintext caller vs principal rule', [peer({ principals: ['*'] })], [], req({ principal: undefined }), false],
    ['plaintext caller vs namespace rule', [peer({ namespaces: ['*'] })], [], req({ principal: undefined }), false],
    ['plaintext caller vs operation-only rule', [], [op({ paths: ['/health'] })], req({ principal: undefined, path: '/health' }), true],
  ] as const)('%s', (_name, from, to, r, allowed) => {
    expect(authorize(allow(from as never, to as never), r).allowed).toBe(allowed);
  });
});

describe('fail closed', () => {
  test.each([
    ['unknown field in a source', { principals: [], namespaces: [], ipBlocks: ['10.0.0.0/8'] }, undefined],
    ['malformed principal pattern', { principals: ['spiffe://*/ns/*'], namespaces: [] }, undefined],
    ['empty principal', { principals: [''], namespaces: [] }, undefined],
    ['unknown field in an operation', undefined, { paths: [], methods: [], ports: [], hosts: ['x'] }],
    ['path without a leading slash', undefined, { paths: ['cart'], methods: [], ports: [] }],
    ['port out of range', undefined, { paths: [], methods: [], ports: [70000] }],
  ])('%s → deny with rule_error naming the rule', (_n, from, to) => {
    const bad = { id: 'shop/p#bad', action: 'ALLOW', from: from ? [from] : [], to: to ? [to] : [] } as unknown as PolicyRuleModel;
    const d = authorize(pol(rule('p#ok', 'ALLOW'), bad), req());
    expect(d).toMatchObject({ allowed: false, reason: 'rule_error', policy: 'shop/p#bad' });
    expect(d.detail).toBeTruthy();
  });

  test('an unknown action or unknown rule field fails closed even for DENY/AUDIT neighbours', () => {
    const weird = { id: 'shop/p#custom', action: 'CUSTOM', from: [], to: [] } as unknown as PolicyRuleModel;
    expect(authorize(pol(weird), req())).toMatchObject({ allowed: false, reason: 'rule_error', policy: 'shop/p#custom' });
    const extra = { id: 'shop/p#when', action: 'DENY', from: [], to: [], when: [{ key: 'request.auth.claims[iss]' }] } as unknown as PolicyRuleModel;
    expect(authorize(pol(extra), req())).toMatchObject({ allowed: false, reason: 'rule_error', policy: 'shop/p#when' });
  });

  test('an unresolved service reference (weft-unresolved principal) matches nobody', () => {
    const p = pol(rule('p#r', 'ALLOW', [peer({ principals: ['weft-unresolved:shop/ghost'] })]));
    expect(authorize(p, req())).toMatchObject({ allowed: false, reason: 'no_matching_allow' });
  });
});

test('compilePolicies and authorize give the same answers; authorize caches per policies array', () => {
  const p = pol(rule('p#r', 'ALLOW', [peer({ namespaces: ['shop'] })]));
  const a = compilePolicies(p);
  for (const r of [req(), req({ principal: ID('ops', 'x') }), req({ principal: undefined })]) expect(a.authorize(r)).toEqual(authorize(p, r));
});
