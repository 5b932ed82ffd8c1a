/**
 * `weft config-dump <proxy>`: the live config of one sidecar of the running `weft up` (its admin
 * /config_dump), by replica id (`ratings-v1-0`) or a unique prefix (`ratings`). Exit codes: 0,
 * 2 unknown or ambiguous proxy, 3 no mesh running, 1 the proxy did not answer.
 */
import { Command } from 'commander';
import * as http from 'node:http';
import { UP_ERRORS, UpError } from '../up/errors';
import { readRunInfo } from '../up/run-info';

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    }).on('error', reject).on('timeout', function (this: http.ClientRequest) { this.destroy(new Error('timeout')); });
  });
}

export function register(program: Command): void {
  program
    .command('config-dump')
    .description('print the live config of one sidecar of the running `weft up` mesh')
    .argument('<proxy>', 'replica id (e.g. ratings-v1-0, weft-ingress-0) or a unique prefix')
    .option('--state-dir <dir>', 'state directory of the running weft up', '.weft')
    .action(async (name: string, flags: { stateDir: string }) => {
      const info = await readRunInfo(flags.stateDir);
      const exact = info.proxies.find((p) => p.id === name);
      const matches = exact ? [exact] : info.proxies.filter((p) => p.id.startsWith(name));
      if (matches.length !== 1) {
        throw new UpError(UP_ERRORS.unknownProxy, `${matches.length ? 'ambiguous' : 'unknown'} proxy "${name}"; proxies: ${info.proxies.map((p) => p.id).join(', ')}`, { exitCode: 2 });
      }
      let body: string;
      try {
        body = await get(`${matches[0].admin}/config_dump`);
      } catch (e) {
        throw new UpError(UP_ERRORS.child, `${matches[0].id} did not answer on ${matches[0].admin}: ${(e as Error).message}`, { cause: e });
      }
      process.stdout.write(body.endsWith('\n') ? body : `${body}\n`);
    });
}
