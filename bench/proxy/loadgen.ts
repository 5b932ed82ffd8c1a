/**
 * Open-loop fixed-rate HTTP/1.1 load generator (wrk2 is not in Debian): sends `rate` requests per
 * second over a keep-alive pool and measures latency from the *scheduled* send time, so a stall
 * counts against every request it delays (no coordinated omission). Prints JSON.
 *   node loadgen.js <port> <host-header> <rate> <seconds>
 */
import * as http from 'node:http';

const [port, host, rateArg, secondsArg] = process.argv.slice(2);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const latencies: number[] = [];
let errors = 0;
let done = 0;
const total = Math.round(rate * seconds);
const start = performance.now() + 50;

function fire(scheduled: number): void {
  const r = http.request({ host: '127.0.0.1', port: Number(port), path: '/', agent, headers: { host } }, (res) => {
    res.resume();
    res.on('end', () => {
      if (res.statusCode !== 200) errors++;
      latencies.push(performance.now() - scheduled);
      finish();
    });
  });
  r.on('error', () => {
    errors++;
    finish();
  });
  r.end();
}

function finish(): void {
  if (++done < total) return;
  latencies.sort((a, b) => a - b);
  const q = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  process.stdout.write(`${JSON.stringify({ requests: total, errors, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: latencies[latencies.length - 1] })}\n`);
  agent.destroy();
}

let sent = 0;
function tick(): void {
  const now = performance.now();
  // send everything whose scheduled time has passed (catch up after a stall)
  while (sent < total && start + (sent * 1000) / rate <= now) fire(start + (sent++ * 1000) / rate);
  if (sent < total) setTimeout(tick, 1);
}
setTimeout(tick, 50);
