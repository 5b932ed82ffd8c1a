/** weft up's scrape config and the --prometheus binary lookup. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { findPrometheus, prometheusConfig, startPrometheus } from '../../cli/up/prometheus';

test('one static target per sidecar, labelled namespace and pod like PodMonitor targets', () => {
  const cfg = parse(prometheusConfig([
    { id: 'reviews-v2-0', namespace: 'bookinfo', admin: 'http://127.0.0.1:41001' },
    { id: 'ratings-v1-0', namespace: 'bookinfo', admin: 'http://10.0.0.2:15020' },
  ]));
  expect(cfg.scrape_configs).toEqual([{
    job_name: 'weft-proxies', metrics_path: '/metrics',
    static_configs: [
      { targets: ['127.0.0.1:41001'], labels: { namespace: 'bookinfo', pod: 'reviews-v2-0' } },
      { targets: ['10.0.0.2:15020'], labels: { namespace: 'bookinfo', pod: 'ratings-v1-0' } },
    ],
  }]);
  expect(cfg.global.scrape_interval).toBe('5s');
  // no replica running: a valid config with no targets
  expect(parse(prometheusConfig([])).scrape_configs[0].static_configs).toEqual([]);
});

test('the binary is looked up on PATH (then /usr/bin); without it --prometheus is WEFT_ERR_UP_OBSERVABILITY naming the package', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-prom-'));
  try {
    expect(await findPrometheus({ PATH: dir }, [])).toBeUndefined();
    writeFileSync(join(dir, 'prometheus'), '#!/bin/sh\n', { mode: 0o755 });
    expect(await findPrometheus({ PATH: dir }, [])).toBe(join(dir, 'prometheus'));
    const err = await startPrometheus(dir, 0, { find: async () => undefined }).then(() => undefined, (e) => e);
    expect(err).toMatchObject({ code: 'WEFT_ERR_UP_OBSERVABILITY', exitCode: 2, message: expect.stringContaining('apt-get install prometheus') });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
