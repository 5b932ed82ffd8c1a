/**
 * Jest: three tiers as projects (docs/test-tiers.md). ts-jest with isolatedModules (type-checking is
 * `tsc --noEmit`, run separately). A file's tier is its name: `*.sys.test.ts` system,
 * `*.int.test.ts` integration, any other `*.test.ts` unit (sockets and processes refused there).
 */
const transform = { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] };

/** The tiers, narrowest first; test/repo/tiers.test.ts checks every test file is in exactly one. */
const tiers = [
  {
    displayName: 'unit',
    testMatch: ['<rootDir>/test/**/*.test.ts'],
    testPathIgnorePatterns: ['/node_modules/', '\\.int\\.test\\.ts$', '\\.sys\\.test\\.ts$'],
    testEnvironment: '<rootDir>/test/support/unit-environment.js',
  },
  {
    displayName: 'integration',
    testMatch: ['<rootDir>/test/**/*.int.test.ts'],
    testEnvironment: 'node',
  },
  {
    displayName: 'system',
    testMatch: ['<rootDir>/test/**/*.sys.test.ts'],
    testEnvironment: 'node',
  },
];

module.exports = {
  projects: tiers.map((tier) => ({ ...tier, rootDir: __dirname, roots: ['<rootDir>/test'], transform, setupFiles: ['<rootDir>/test/support/tier-env.js'] })),
  // per-test default (jest reads it globally, not per project); long tests set their own
  testTimeout: 60000,
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
};
