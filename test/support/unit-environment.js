/**
 * Jest environment of the `unit` tier: plain node, except that opening a socket or starting a
 * process throws, so a file that needs either fails loudly until it is named `*.int.test.ts` or
 * `*.sys.test.ts` (docs/test-tiers.md). The patches are undone in teardown because jest workers are
 * shared between projects.
 */
const net = require('node:net');
const dgram = require('node:dgram');
const childProcess = require('node:child_process');
const { TestEnvironment } = require('jest-environment-node');

const TIER_HINT = 'unit-tier tests may not open sockets or start processes; name the file *.int.test.ts (sockets, TLS) or *.sys.test.ts (processes) — see docs/test-tiers.md';

function refuse(what) {
  return function refused() {
    const err = new Error(`WEFT_ERR_TEST_TIER: ${what} in a unit test. ${TIER_HINT}`);
    err.code = 'WEFT_ERR_TEST_TIER';
    throw err;
  };
}

const PATCHES = [
  [net.Server.prototype, 'listen', 'net.Server#listen'],
  [net.Socket.prototype, 'connect', 'net.Socket#connect'],
  [dgram.Socket.prototype, 'bind', 'dgram.Socket#bind'],
  ...['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'].map((n) => [childProcess, n, `child_process.${n}`]),
];

class UnitEnvironment extends TestEnvironment {
  async setup() {
    await super.setup();
    this.saved = PATCHES.map(([target, name, what]) => {
      const original = target[name];
      target[name] = refuse(what);
      return [target, name, original];
    });
  }

  async teardown() {
    for (const [target, name, original] of this.saved ?? []) target[name] = original;
    this.saved = undefined;
    await super.teardown();
  }
}

module.exports = UnitEnvironment;
