/**
 * HTTP authorization denials and AUDIT matches are logged as TCP ones are: through a real backend
 * sidecar (runProxy, api/authz) called over mTLS by a real web sidecar, with the sidecar's log
 * captured; and the layer alone for the edge cases (evaluator error, gRPC, caller-controlled text).
 */
import * as http from 'node:http';
import { rescue } from '../../../proxy/http/respond';
import { authz, type AuthzLog } from '../../../proxy/layers/authz';
import { runProxy, type RunningProxy } from '../../../proxy/main';
import { compose } from '../../../proxy/stack/types';
import { fakeNext, makeRequest } from '../../support/proxy-fixtures';
import { clientBootstrap, identityDir, idOf, makeCa, serverBootstrap } from '../main/fixtures';
import { closeServer, get, listen } from '../http/util';

describe('a real sidecar', () => {
  let app: http.Server;
  const seen: string[] = [];
  let backend: RunningProxy;
  let web: RunningProxy;
  const logs: { level: string; msg: string }[] = [];
  const authzLines = () => logs.filter((l) => l.msg.startsWith('inbound HTTP request'));

  beforeAll(async () => {
    const ca = await makeCa();
    app = http.createServer((req, res) => {
      seen.push(req.url ?? '');
      res.end('ok');
    });
    const appPort = await listen(app);
    const rules = {
      defaultPolicy: 'allow',
      rules: [
        { id: 'default/backend#no-admin', action: 'DENY', from: [], to: [{ paths: ['/admin*'] }] },
        { id: 'default/backend-audit#watch', action: 'AUDIT', from: [], to: [{ paths: ['/watched*'] }] },
      ],
    };
    backend = await runProxy(serverBootstrap(appPort, await identityDir(ca, 'backend'), {}, rules), { log: (level, msg) => logs.push({ level, msg }) });
    web = await runProxy(clientBootstrap(backend.ports.inbound, await identityDir(ca, 'web')), { log: () => undefined });
  });
  afterAll(async () => {
    await web?.shutdown();
    await backend?.shutdown();
    await closeServer(app);
  });
  beforeEach(() => { logs.length = 0; });

  const call = (path: string, headers: Record<string, string> = {}) => get(web.ports.outbound, { path, headers: { host: 'backend', ...headers } });

  test('GIVEN a DENY match THEN 403 and exactly one warn line naming reason, policy, peer, port, request and trace ids', async () => {
    const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const r = await call('/admin/x?token=secret', { 'x-request-id': 'req-42', traceparent: `00-${trace}-00f067aa0ba902b7-01` });
    expect(r.status).toBe(403);
    expect(r.headers['weft-error']).toBe('denied policy=default/backend#no-admin');
    expect(seen).not.toContain('/admin/x?token=secret');
    expect(authzLines()).toEqual([{
      level: 'warn',
      msg: `inbound HTTP request denied: denied_by_policy policy=default/backend#no-admin peer=${idOf('web')} port=0 method=GET path=/admin/x authority=backend request_id=req-42 trace_id=${trace}`,
    }]);
    expect(authzLines()[0].msg).not.toContain('secret'); // the query string is never logged
  });

  test('GIVEN an AUDIT match on an allowed request THEN it succeeds and one info line names the AUDIT rule and peer', async () => {
    const r = await call('/watched/1');
    expect(r.status).toBe(200);
    expect(seen).toContain('/watched/1');
    expect(authzLines()).toEqual([{
      level: 'info',
      msg: `inbound HTTP request audited by default/backend-audit#watch: peer=${idOf('web')} port=0 method=GET path=/watched/1 authority=backend`,
    }]);
  });

  test('GIVEN an allowed request without AUDIT THEN nothing is logged', async () => {
    const r = await call('/ok');
    expect(r.status).toBe(200);
    expect(logs).toEqual([]);
  });
});

describe('the layer', () => {
  const capture = () => {
    const lines: [string, string][] = [];
    const log: AuthzLog = (level, msg) => lines.push([level, msg]);
    return { lines, log };
  };

  test('GIVEN an evaluator that throws THEN the 403 is logged as rule_error by evaluator-error with the message', async () => {
    const { lines, log } = capture();
    const h = compose(rescue, authz(() => { throw new Error('bug in rules'); }, () => undefined, undefined, log))(fakeNext());
    expect((await h(makeRequest({ grpc: true, path: '/pkg.Svc/Get', method: 'POST' }))).headers['grpc-status']).toBe('7');
    expect(lines).toEqual([['warn', 'inbound HTTP request denied: rule_error policy=evaluator-error peer=(no certificate) method=POST path=/pkg.Svc/Get authority=reviews (bug in rules)']]);
  });

  test('GIVEN caller-controlled text with spaces or key=value THEN it is quoted, so a log line cannot be forged', async () => {
    const { lines, log } = capture();
    const h = compose(rescue, authz(() => ({ allowed: false, reason: 'default_deny', audited: ['ns/a#x'] }), () => undefined, undefined, log))(fakeNext());
    await h(makeRequest({ path: '/a b', headers: { 'x-request-id': 'x policy=ns/fake', traceparent: 'garbage' } }));
    expect(lines).toEqual([
      ['info', 'inbound HTTP request audited by ns/a#x: peer=(no certificate) method=GET path="/a b" authority=reviews request_id="x policy=ns/fake"'],
      ['warn', 'inbound HTTP request denied: default_deny policy=default peer=(no certificate) method=GET path="/a b" authority=reviews request_id="x policy=ns/fake"'],
    ]);
  });

  test('GIVEN allowed requests without AUDIT matches THEN the log is never called', async () => {
    const { lines, log } = capture();
    const h = compose(rescue, authz(() => ({ allowed: true, audited: [] }), () => undefined, undefined, log))(fakeNext());
    for (let i = 0; i < 3; i++) expect((await h(makeRequest())).status).toBe(200);
    expect(lines).toEqual([]);
  });
});
