/** Properties of the evaluation order over generated policies and requests (fast-check). */
import fc from 'fast-check';
import { authorize } from '../../api/authz';
import type { PolicyModel, PolicyRuleModel } from '../../api/model';

const ns = fc.constantFrom('shop', 'ops', 'pay');
const sa = fc.constantFrom('web', 'cart', 'batch');
const principal = fc.tuple(ns, sa).map(([n, s]) => `spiffe://t.local/ns/${n}/sa/${s}`);
const pathPattern = fc.constantFrom('/a', '/a/*', '*.json', '/b/c', '*');
const peer = fc.record({
  principals: fc.array(fc.oneof(principal, fc.constantFrom('*', 't.local/ns/shop/*', '*/sa/web')), { maxLength: 2 }),
  namespaces: fc.array(fc.oneof(ns, fc.constant('sh*')), { maxLength: 2 }),
});
const op = fc.record({
  paths: fc.array(pathPattern, { maxLength: 2 }),
  methods: fc.array(fc.constantFrom('GET', 'POST', 'DELETE'), { maxLength: 2 }),
  ports: fc.array(fc.constantFrom(80, 8080), { maxLength: 1 }),
});
const rule = (i: number) => fc.record({
  id: fc.constant(`shop/p#r${i}`),
  action: fc.constantFrom('ALLOW', 'DENY', 'AUDIT') as fc.Arbitrary<PolicyRuleModel['action']>,
  from: fc.array(peer, { maxLength: 2 }),
  to: fc.array(op, { maxLength: 2 }),
});
const policies = fc.array(fc.nat(), { maxLength: 5 }).chain((xs) => fc.tuple(...xs.map((_, i) => rule(i)))).map((rules): PolicyModel[] => [{ service: 'cart', namespace: 'shop', rules }]);
const request = fc.record({
  principal: fc.option(principal, { nil: undefined }),
  destination: fc.constant({ service: 'cart', namespace: 'shop' }),
  port: fc.constantFrom(80, 8080),
  path: fc.constantFrom('/a', '/a/x', '/b/c', '/x.json', '/'),
  method: fc.constantFrom('GET', 'POST', 'DELETE'),
});
const deflt = fc.constantFrom('allow' as const, 'deny' as const);
const with_ = (p: PolicyModel[], ...extra: PolicyRuleModel[]): PolicyModel[] => [{ ...p[0], rules: [...p[0].rules, ...extra] }];
const everything = (action: PolicyRuleModel['action']): PolicyRuleModel => ({ id: `shop/extra#${action}`, action, from: [], to: [] });

test('AUDIT rules never change the verdict', () => {
  fc.assert(fc.property(policies, request, deflt, (p, r, d) => {
    const a = authorize(p, r, { defaultInboundPolicy: d });
    const b = authorize(with_(p, everything('AUDIT')), r, { defaultInboundPolicy: d });
    expect({ allowed: b.allowed, reason: b.reason }).toEqual({ allowed: a.allowed, reason: a.reason });
    expect(b.audited).toContain('shop/extra#AUDIT');
  }), { numRuns: 300, seed: 1 });
});

test('a matching DENY always wins, whatever ALLOWs exist', () => {
  fc.assert(fc.property(policies, request, deflt, (p, r, d) => {
    expect(authorize(with_(p, everything('ALLOW'), everything('DENY')), r, { defaultInboundPolicy: d }).allowed).toBe(false);
  }), { numRuns: 300, seed: 2 });
});

test('with no matching DENY, an allow-everything ALLOW lets the request through; without any ALLOW the default decides', () => {
  fc.assert(fc.property(policies, request, deflt, (p, r, d) => {
    const base = authorize(p, r, { defaultInboundPolicy: d });
    if (base.reason === 'denied_by_policy') return;
    expect(authorize(with_(p, everything('ALLOW')), r, { defaultInboundPolicy: d }).allowed).toBe(true);
    if (!p[0].rules.some((x) => x.action === 'ALLOW')) expect(base.allowed).toBe(d === 'allow');
  }), { numRuns: 300, seed: 3 });
});

test('a plaintext caller is never allowed by a rule that names principals or namespaces', () => {
  fc.assert(fc.property(peer.filter((x) => x.principals.length + x.namespaces.length > 0), request, (pe, r) => {
    const p: PolicyModel[] = [{ service: 'cart', namespace: 'shop', rules: [{ id: 'shop/p#only', action: 'ALLOW', from: [pe], to: [] }] }];
    expect(authorize(p, { ...r, principal: undefined }).allowed).toBe(false);
  }), { numRuns: 200, seed: 4 });
});
