// Entry point cdk8s-cli loads (plain `require`): compile the TypeScript plugin on the fly.
require('ts-node').register({ transpileOnly: true });
module.exports = require('./plugin.ts');
