/** `weft self-check` in-process: every probe runs for real on loopback, and a broken proto dir fails with its code. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runSelfCheck, selfCheckProtoDirs } from '../../cli/commands/self-check';

test('every probe passes on this runtime and reports what it negotiated', async () => {
  const report = await runSelfCheck({ protoDir: undefined });
  expect(report.probes.map((p) => [p.name, p.ok, p.code])).toEqual([
    ['protos', true, undefined],
    ['keygen', true, undefined],
    ['tls', true, undefined],
    ['http1', true, undefined],
    ['http2', true, undefined],
  ]);
  expect(report.ok).toBe(true);
  const byName = Object.fromEntries(report.probes.map((p) => [p.name, p.detail ?? {}]));
  expect(byName.protos.adsMethods).toContain('StreamAggregatedResources');
  expect(byName.tls.protocol).toBe('TLSv1.3');
  expect(byName.http2.alpn).toBe('h2');
});

test('WEFT_PROTO_DIR layout is what the image ships; a missing dir fails only the protos probe, with its code', async () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-protos-'));
  try {
    expect(selfCheckProtoDirs(empty)).toEqual(['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate', 'protobufjs'].map((d) => path.join(empty, d)));
    const report = await runSelfCheck({ protoDir: empty });
    expect(report.ok).toBe(false);
    const protos = report.probes.find((p) => p.name === 'protos');
    expect(protos).toMatchObject({ ok: false, code: 'WEFT_ERR_SELF_CHECK_PROTOS' });
    expect(report.probes.filter((p) => p.name !== 'protos').every((p) => p.ok)).toBe(true);
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
});

test('bin/weft.js self-check: JSON report and exit 0; a bad flag is WEFT_ERR_USAGE with exit 2', async () => {
  const { execFile } = await import('node:child_process');
  const weft = (...args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [path.resolve(__dirname, '../../bin/weft.js'), 'self-check', ...args], { timeout: 150_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? (err as { code?: number }).code ?? null : 0, stdout, stderr }));
    });
  // One at a time: each process transpiles the whole CLI with ts-node, and the machine is shared.
  const ok = await weft();
  const bad = await weft('--timeout', 'soon');
  expect(ok.code).toBe(0);
  expect(JSON.parse(ok.stdout.trim()).ok).toBe(true);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('WEFT_ERR_USAGE');
}, 320_000);
