/** api/log.ts: weft's one logger writes pino JSON lines with a named level, ISO time and component. */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLog, createLogger } from '../../api/log';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'weft-log-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Logs through a fresh file descriptor and returns the parsed lines. */
function linesOf(write: (fd: number) => void): Record<string, unknown>[] {
  const file = join(dir, 'log.jsonl');
  const fd = openSync(file, 'w');
  write(fd);
  closeSync(fd);
  return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('one JSON line per call: level by name, ISO time, component, pid, msg and the fields', () => {
  const lines = linesOf((fd) => createLog('weft-proxy', {}, fd)('warn', 'xDS stream lost', { code: 'WEFT_ERR_X' }));
  expect(lines).toEqual([expect.objectContaining({ level: 'warn', component: 'weft-proxy', pid: process.pid, msg: 'xDS stream lost', code: 'WEFT_ERR_X' })]);
  expect(new Date(String(lines[0].time)).toISOString()).toBe(lines[0].time);
});

test('WEFT_LOG_LEVEL filters (default info); an unknown level is WEFT_ERR_LOG_LEVEL', () => {
  const lines = linesOf((fd) => {
    const quiet = createLog('weft-control-plane', { WEFT_LOG_LEVEL: 'error' }, fd);
    quiet('warn', 'dropped');
    quiet('error', 'kept');
    createLog('weft-control-plane', {}, fd)('debug', 'dropped too');
  });
  expect(lines.map((l) => l.msg)).toEqual(['kept']);
  expect(() => createLogger('weft-proxy', { WEFT_LOG_LEVEL: 'loud' })).toThrow(expect.objectContaining({ code: 'WEFT_ERR_LOG_LEVEL' }));
});
