/**
 * The benchmark's in-run Node yardstick (issue 3: "a 60-line Node proxy with undici over TLS"): one
 * hop of a naive two-hop proxy. No routing, metrics, retries or hardening — only what any Node
 * proxy pays: node:http(s) server in, undici Pool out. Bench-only; never part of weft.
 *   node naive.js client <listenPort> <nextPort> <pkiDir>   plaintext in, mTLS (undici, pooled) out
 *   node naive.js server <listenPort> <appPort>  <pkiDir>   mTLS in (client cert required), plaintext out
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { Pool } from 'undici';

const [mode, listenArg, nextArg, dir] = process.argv.slice(2);
const pem = (f: string): Buffer => fs.readFileSync(path.join(dir, f));
const who = mode === 'client' ? 'client' : 'server';
const tlsOpts = { key: pem(`${who}.key`), cert: pem(`${who}.pem`), ca: pem('ca.pem') };

const pool = mode === 'client'
  ? new Pool(`https://127.0.0.1:${nextArg}`, { connections: 64, pipelining: 1, connect: {
    ...tlsOpts, servername: 'localhost', rejectUnauthorized: true,
    // undici takes the servername from Host; the bench certificate names localhost
    checkServerIdentity: (_host: string, cert: tls.PeerCertificate) => tls.checkServerIdentity('localhost', cert),
  } })
  : new Pool(`http://127.0.0.1:${nextArg}`, { connections: 64, pipelining: 1 });

// hop-by-hop headers (RFC 9110 §7.6.1) are not forwarded
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'upgrade', 'trailer']);

const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
  const headers: Record<string, string | string[]> = {};
  for (const k in req.headers) if (!HOP.has(k)) headers[k] = req.headers[k]!;
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  pool.request({ path: req.url ?? '/', method: req.method as 'GET', headers, body: hasBody ? req : null }).then(
    (up) => {
      const out: Record<string, string | string[]> = {};
      for (const k in up.headers) if (!HOP.has(k)) out[k] = up.headers[k]!;
      res.writeHead(up.statusCode, out);
      up.body.on('error', () => res.destroy());
      up.body.pipe(res);
    },
    () => {
      res.writeHead(502).end();
    },
  );
};

const server = mode === 'client'
  ? http.createServer({ keepAliveTimeout: 60_000 }, handler)
  : https.createServer({ ...tlsOpts, requestCert: true, rejectUnauthorized: true, keepAliveTimeout: 60_000 }, handler);
server.listen(Number(listenArg), '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: listenArg })}\n`));
process.once('SIGTERM', () => process.exit(0));
