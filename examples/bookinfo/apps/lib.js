'use strict';
// Shared bits of the bookinfo demo servers: listen on PORT, call other services through the
// sidecar named by HTTP_PROXY (absolute-form request URI), answer JSON.
const http = require('node:http');

const PORT = Number(process.env.PORT || 9080);
const HOST = process.env.HOST || '0.0.0.0';

/** GET `url` (e.g. http://reviews:9080/reviews/1) via HTTP_PROXY when set, else directly; resolves { status, body }. */
function get(url, headers = {}) {
  const target = new URL(url);
  const proxy = process.env.HTTP_PROXY || process.env.http_proxy;
  const via = proxy ? new URL(proxy) : target;
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: via.hostname, port: via.port || 80, method: 'GET',
      path: proxy ? target.href : target.pathname + target.search,
      headers: { host: target.host, ...headers },
      timeout: 5000,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body = text;
        try { body = JSON.parse(text); } catch { /* not JSON: keep the text */ }
        resolve({ status: res.statusCode, body, error: res.headers['weft-error'] });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`timeout calling ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

/** Starts a server whose `handler(path, headers)` returns `{ status?, body }`; logs the bound port. */
function serve(name, handler) {
  const server = http.createServer(async (req, res) => {
    try {
      if (req.url === '/healthz') return send(res, 200, { ok: true });
      const out = await handler(new URL(req.url, 'http://x'), req.headers);
      send(res, out.status || 200, out.body);
    } catch (e) {
      send(res, 502, { error: String(e && e.message || e) });
    }
  });
  server.listen(PORT, HOST, () => console.log(`${name} listening on ${HOST}:${server.address().port}`));
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
  return server;
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Headers worth passing downstream (the canary pin and tracing). */
function forwarded(headers) {
  const out = {};
  for (const h of ['x-canary', 'traceparent', 'x-request-id']) if (headers[h]) out[h] = headers[h];
  return out;
}

module.exports = { get, serve, forwarded, PORT };
