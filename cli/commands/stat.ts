/**
 * `weft stat`: the golden metrics of a running `weft up` (found through <state-dir>/run.json), per
 * service and version, like `linkerd viz stat`. Exit codes: 0, 3 when no mesh is running.
 */
import { Command } from 'commander';
import { readRunInfo } from '../up/run-info';
import { fetchRejections, renderRejections } from '../up/rejections';
import { renderStat, scrape, statRows, watchStat } from '../up/stat';

export function register(program: Command): void {
  program
    .command('stat')
    .description('requests/s, success rate and p50/p99 latency per service and version of the running `weft up` mesh')
    .option('--state-dir <dir>', 'state directory of the running weft up', '.weft')
    .option('-w, --watch', 'refresh every second until Ctrl-C', false)
    .option('--window <ms>', 'measurement window of a single (non-watch) run', '1000')
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async (flags: { stateDir: string; watch: boolean; window: string; output: string }) => {
      const info = await readRunInfo(flags.stateDir);
      const targets = info.proxies.filter((p) => p.service !== 'weft-ingress');
      const tty = process.stdout.isTTY === true;
      if (flags.watch) {
        const stop = watchStat(() => targets, (rows) => void fetchRejections(info.controlPlane.status).then((rejected) =>
          process.stdout.write(`${tty ? '\x1b[H\x1b[2J' : ''}${renderStat(rows, tty)}${renderRejections(rejected ?? [])}\n`)));
        await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
        stop();
        return;
      }
      const windowMs = Math.max(100, Number(flags.window) || 1000);
      const before = await scrape(targets);
      const t0 = Date.now();
      await new Promise((r) => setTimeout(r, windowMs));
      const rows = statRows(before, await scrape(targets), (Date.now() - t0) / 1000);
      // rejected custom resources are listed under the table (JSON keeps its row array; see `weft proxy-status --json`)
      const rejected = flags.output === 'json' ? [] : (await fetchRejections(info.controlPlane.status)) ?? [];
      process.stdout.write(flags.output === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : `${renderStat(rows, tty)}${renderRejections(rejected)}\n`);
    });
}
