/** A response header value Node refuses to write closes that connection; the listener keeps serving (never a crash). */
import * as http from 'node:http';
import { Readable } from 'node:stream';
import { ProxyServer } from '../../../proxy/http/server';
import type { ProxyResponse } from '../../../proxy/stack/types';
import { get } from './util';

let proxy: ProxyServer;
let port: number;

beforeAll(async () => {
  proxy = new ProxyServer({
    handler: async (req): Promise<ProxyResponse> => (req.path === '/bad'
      ? { status: 200, headers: { 'x-bad': 'a\u0001b' }, body: Readable.from([Buffer.from('never sent')]) }
      : { status: 200, headers: { 'content-length': '2' }, body: Readable.from([Buffer.from('ok')]) }),
  });
  port = (await proxy.listen(0)).port;
});

afterAll(() => proxy.close());

test('the bad response is cut off and the next request is served', async () => {
  const agent = new http.Agent({ keepAlive: false });
  await expect(get(port, { path: '/bad', headers: { host: 'app' }, agent })).rejects.toThrow(/socket hang up|ECONNRESET/);
  const ok = await get(port, { path: '/ok', headers: { host: 'app' }, agent });
  expect(ok.status).toBe(200);
  expect(ok.body).toBe('ok');
});
