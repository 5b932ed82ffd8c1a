// Entry point cdk8s-cli loads (plain `require`): compile the TypeScript plugin on the fly, with
// weft's own tsconfig whatever directory cdk8s runs in.
const path = require('node:path');
require('ts-node').register({ transpileOnly: true, project: path.join(__dirname, '..', '..', 'tsconfig.json') });
module.exports = require('./plugin.ts');
