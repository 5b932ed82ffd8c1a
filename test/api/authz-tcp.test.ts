/**
 * authorizeTcp: Istio's L4 reading of the same policies for opaque TCP connections, and mayCall
 * answering for tcp ports with it (per connection, method and path ignored).
 */
import { authorize, authorizeTcp, compilePolicies } from '../../api/authz';
import { buildModel } from '../../api/build-model';
import { mayCall } from '../../api/may-call';
import type { PolicyModel, PolicyRuleModel } from '../../api/model';
import { API_VERSION, type WeftResource } from '../../api/resources';

const ID = (ns: string, sa: string) => `spiffe://shop.local/ns/${ns}/sa/${sa}`;
const dest = { service: 'db', namespace: 'shop' };
const rule = (id: string, action: PolicyRuleModel['action'], from: PolicyRuleModel['from'] = [], to: PolicyRuleModel['to'] = []): PolicyRuleModel => ({ id: `shop/${id}`, action, from, to });
const peer = (p: Partial<{ principals: string[]; namespaces: string[] }>) => ({ principals: p.principals ?? [], namespaces: p.namespaces ?? [] });
const op = (o: Partial<{ paths: string[]; methods: string[]; ports: number[] }>) => ({ paths: o.paths ?? [], methods: o.methods ?? [], ports: o.ports ?? [] });
const pol = (...rules: PolicyRuleModel[]): PolicyModel[] => [{ ...dest, rules }];
const conn = (over: Partial<Parameters<typeof authorizeTcp>[1]> = {}) => ({ principal: ID('shop', 'web'), destination: dest, port: 5432, ...over });

describe('authorizeTcp', () => {
  test('L4 rules (sources, ports) decide as for HTTP; DENY beats ALLOW', () => {
    const p = pol(rule('p#web', 'ALLOW', [peer({ namespaces: ['shop', 'ops'] })]), rule('p#no-ops-pg', 'DENY', [peer({ namespaces: ['ops'] })], [op({ ports: [5432] })]));
    expect(authorizeTcp(p, conn())).toEqual({ allowed: true, reason: 'allowed_by_policy', policy: 'shop/p#web', audited: [] });
    expect(authorizeTcp(p, conn({ principal: ID('ops', 'batch') }))).toMatchObject({ allowed: false, reason: 'denied_by_policy', policy: 'shop/p#no-ops-pg' });
    expect(authorizeTcp(p, conn({ principal: ID('ops', 'batch'), port: 6379 }))).toMatchObject({ allowed: true });
    expect(authorizeTcp(p, conn({ principal: ID('dev', 'x') }))).toMatchObject({ allowed: false, reason: 'no_matching_allow', policy: 'shop/p' });
  });

  test('an ALLOW rule that needs paths or methods never matches a connection, yet still counts as an ALLOW', () => {
    const p = pol(rule('p#gets', 'ALLOW', [peer({ principals: [ID('shop', 'web')] })], [op({ methods: ['GET'], ports: [5432] })]));
    const d = authorizeTcp(p, conn());
    expect(d).toMatchObject({ allowed: false, reason: 'no_matching_allow', policy: 'shop/p' });
    expect(d.detail).toContain('shop/p#gets');
    // the same rule allows the HTTP request it describes
    expect(authorize(p, { ...conn(), path: '/', method: 'GET' })).toMatchObject({ allowed: true });
    // with a deny mesh default it is still "an ALLOW exists, none matched", never the default
    expect(authorizeTcp(p, conn(), { defaultInboundPolicy: 'deny' }).reason).toBe('no_matching_allow');
  });

  test('one HTTP-only operation makes the whole ALLOW rule unusable on TCP (Istio skips the rule)', () => {
    const p = pol(rule('p#mixed', 'ALLOW', [], [op({ paths: ['/x'] }), op({ ports: [5432] })]));
    expect(authorizeTcp(p, conn())).toMatchObject({ allowed: false, reason: 'no_matching_allow' });
    expect(authorize(p, { ...conn(), path: '/y', method: 'GET' })).toMatchObject({ allowed: true }); // HTTP: the port operation matches
  });

  test('a DENY rule drops its HTTP fields on TCP and matches on the rest (wider: fails closed)', () => {
    expect(authorizeTcp(pol(rule('p#no-get', 'DENY', [], [op({ methods: ['GET'] })])), conn())).toMatchObject({ allowed: false, reason: 'denied_by_policy', policy: 'shop/p#no-get' });
    const byPort = pol(rule('p#no-admin', 'DENY', [], [op({ paths: ['/admin/*'], ports: [5432] })]));
    expect(authorizeTcp(byPort, conn())).toMatchObject({ allowed: false, reason: 'denied_by_policy' });
    expect(authorizeTcp(byPort, conn({ port: 6379 }))).toMatchObject({ allowed: true, reason: 'default_allow' });
    const bySource = pol(rule('p#no-ops-posts', 'DENY', [peer({ namespaces: ['ops'] })], [op({ methods: ['POST'] })]));
    expect(authorizeTcp(bySource, conn())).toMatchObject({ allowed: true });
    expect(authorizeTcp(bySource, conn({ principal: ID('ops', 'batch') }))).toMatchObject({ allowed: false });
  });

  test('AUDIT drops HTTP fields too, and still only records', () => {
    const p = pol(rule('p#audit-deletes', 'AUDIT', [], [op({ methods: ['DELETE'] })]));
    expect(authorizeTcp(p, conn())).toEqual({ allowed: true, reason: 'default_allow', audited: ['shop/p#audit-deletes'] });
  });

  test('an unevaluable rule fails closed on TCP as on HTTP', () => {
    const bad = pol(rule('p#ok', 'ALLOW'), { id: 'shop/p#bad', action: 'ALLOW', from: [], to: [{ ...op({}), hosts: ['x'] }] } as unknown as PolicyRuleModel);
    expect(authorizeTcp(bad, conn())).toMatchObject({ allowed: false, reason: 'rule_error', policy: 'shop/p#bad' });
    const star = pol(rule('p#two-stars', 'DENY', [peer({ principals: ['spiffe://shop.local/*/x/*'] })]));
    expect(authorizeTcp(star, conn())).toMatchObject({ allowed: false, reason: 'rule_error' });
  });

  test('no identity: only identity-free rules can match; defaults apply without ALLOW rules', () => {
    const p = pol(rule('p#web', 'ALLOW', [peer({ principals: [ID('shop', 'web')] })]));
    expect(authorizeTcp(p, conn({ principal: undefined }))).toMatchObject({ allowed: false, reason: 'no_matching_allow' });
    expect(authorizeTcp([], conn(), { defaultInboundPolicy: 'deny' })).toMatchObject({ allowed: false, reason: 'default_deny' });
    expect(compilePolicies([]).authorizeTcp(conn())).toMatchObject({ allowed: true, reason: 'default_allow' });
  });
});

const res = (kind: WeftResource<unknown>['kind'], name: string, spec: unknown, namespace?: string): WeftResource<unknown> =>
  ({ apiVersion: API_VERSION, kind, metadata: { name, ...(namespace ? { namespace } : {}) }, spec }) as WeftResource<unknown>;
const svc = (name: string, ns: string, ports: { name: string; port: number; protocol: string }[]) =>
  res('MeshService', name, { serviceAccount: name, ports, versions: [{ name: 'v1', replicas: 1 }], interception: 'explicit' }, ns);

describe('mayCall on tcp ports', () => {
  const resources = [
    res('MeshConfig', 'mesh', {
      trustDomain: 'shop.local', defaultMtlsMode: 'PERMISSIVE', defaultInboundPolicy: 'allow', proxyImage: 'weft/proxy:1', controlPlaneImage: 'weft/cp:1',
      controlPlane: { namespace: 'weft-system', service: 'weft', xdsPort: 15010, caPort: 15012 }, certificateTtl: '24h',
    }),
    svc('web', 'shop', [{ name: 'http', port: 80, protocol: 'http' }]),
    svc('db', 'shop', [{ name: 'pg', port: 5432, protocol: 'tcp' }, { name: 'admin', port: 8080, protocol: 'http' }, { name: 'legacy', port: 7000, protocol: 'tcp' }]),
    res('MtlsPolicy', 'db-legacy', { scope: { service: 'db', port: 7000 }, mode: 'DISABLE' }, 'shop'),
    res('MtlsPolicy', 'db-authz', { scope: { service: 'db' }, rules: [{ name: 'web-gets', action: 'ALLOW', from: [{ namespaces: ['shop'] }], to: [{ methods: ['GET'] }] }] }, 'shop'),
  ];
  const web = { service: 'web', namespace: 'shop' };
  test('every resource is accepted', () => {
    expect(buildModel(resources, []).statuses.filter((s) => !s.accepted)).toEqual([]);
  });

  test('a tcp port is judged per connection (method and path ignored), an http port per request', () => {
    const tcp = mayCall(resources, { from: web, to: { service: 'db', namespace: 'shop', port: 'pg' }, method: 'GET', path: '/' });
    expect(tcp).toMatchObject({ protocol: 'tcp', port: 5432, allowed: false, reason: 'no_matching_allow' });
    expect(tcp.detail).toContain('shop/db-authz#web-gets');
    expect(mayCall(resources, { from: web, to: { service: 'db', namespace: 'shop', port: 8080 }, method: 'GET' })).toMatchObject({ protocol: 'http', allowed: true });
  });

  test('plaintext never reaches a tcp port (unmeshed caller, or a DISABLE port)', () => {
    expect(mayCall(resources, { from: 'unmeshed', to: { service: 'db', namespace: 'shop', port: 5432 } })).toMatchObject({ allowed: false, reason: 'plaintext_refused', protocol: 'tcp' });
    expect(mayCall(resources, { from: web, to: { service: 'db', namespace: 'shop', port: 7000 } })).toMatchObject({ allowed: false, reason: 'plaintext_refused', mtlsMode: 'DISABLE' });
  });
});
