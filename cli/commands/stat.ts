/**
 * `weft stat`: the golden metrics of a running `weft up` (found through <state-dir>/run.json), per
 * service and version, like `linkerd viz stat`, with each version's restarts and the replicas that
 * are up. Exit codes: 0, 3 when no mesh is running.
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
    .option('-w, --watch', 'refresh every window until Ctrl-C', false)
    .option('--window <ms>', 'measurement window (the one-off run waits one full window)', '1000')
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async (flags: { stateDir: string; watch: boolean; window: string; output: string }) => {
      // run.json is re-read at every scrape: weft up rewrites it when a part goes down, comes back or restarts
      const targets = async () => (await readRunInfo(flags.stateDir)).proxies.filter((p) => p.service !== 'weft-ingress');
      const footer = async () => {
        const cp = (await readRunInfo(flags.stateDir)).controlPlane;
        return cp.state ? `control plane: ${cp.state}, ${cp.restarts ?? 0} restart(s)` : '';
      };
      await targets(); // WEFT_ERR_UP_NOT_RUNNING before any wait
      // rejected custom resources, listed under the table (the control plane's /status names them)
      const rejectionsNow = async () => (await fetchRejections((await readRunInfo(flags.stateDir)).controlPlane.status)) ?? [];
      const tty = process.stdout.isTTY === true;
      const windowMs = Math.max(100, Number(flags.window) || 1000);
      if (flags.watch) {
        if (flags.output !== 'json') process.stdout.write(`collecting the first ${windowMs / 1000}s window…\n`);
        let failure: unknown;
        let done!: () => void;
        const ended = new Promise<void>((resolve) => { done = resolve; });
        process.once('SIGINT', () => done());
        // the watched `weft up` stopping (run.json gone) ends the watch with its coded error, not a crash
        const lost = (e: unknown) => { failure = e; done(); };
        const stop = watchStat(targets, (rows) => void Promise.all([footer(), rejectionsNow()]).then(([f, rejected]) => {
          process.stdout.write(flags.output === 'json' ? `${JSON.stringify(rows)}\n` : `${tty ? '\x1b[H\x1b[2J' : ''}${renderStat(rows, tty)}${renderRejections(rejected)}\n${f}\n`);
        }, lost), windowMs, lost);
        await ended;
        stop();
        if (failure) throw failure;
        return;
      }
      // one window: two scrapes `windowMs` apart (the counters are cumulative; one scrape has no rate)
      const before = await scrape(await targets());
      const t0 = Date.now();
      await new Promise((r) => setTimeout(r, windowMs));
      const rows = statRows(before, await scrape(await targets()), (Date.now() - t0) / 1000);
      if (flags.output === 'json') {
        // JSON keeps its row array; rejected custom resources are in `weft proxy-status --json`
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      const [f, rejected] = await Promise.all([footer(), rejectionsNow()]);
      process.stdout.write(`${renderStat(rows, tty)}${renderRejections(rejected)}\n${f ? `${f}\n` : ''}(one ${((Date.now() - t0) / 1000).toFixed(1)}s window: requests in it only; --window <ms> to widen, --watch for a live view)\n`);
    });
}
