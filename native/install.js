#!/usr/bin/env node
// Builds the optional native kernels (native/build/Release/detex_native.node) with node-gyp.
//
// Run by the package's "install" script: it must NEVER fail `npm install`/`npm ci`. Where a
// compiler, oneDNN (libdnnl-dev) or Node's headers are missing it prints why, records the reason
// in native/build/status.json (which loadNativeKernels() reports), and exits 0; the package then
// runs on the pure-JS/WASM backends. `node native/install.js --strict` (npm run build:native)
// exits non-zero instead, for CI and developers who want to know.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const here = __dirname;
const strict = process.argv.includes('--strict');
const statusFile = path.join(here, 'build', 'status.json');

function record(built, reason) {
  fs.mkdirSync(path.dirname(statusFile), { recursive: true });
  fs.writeFileSync(statusFile, JSON.stringify({ built, reason, at: new Date().toISOString() }, null, 2) + '\n');
}

function giveUp(reason) {
  record(false, reason);
  console.warn(`[detex] native kernels not built: ${reason}`);
  console.warn('[detex] continuing without them (pure-JS/WASM backends still work).');
  process.exit(strict ? 1 : 0);
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

// node-gyp ships inside npm; npm also tells scripts where via npm_config_node_gyp.
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch (_) { /* not installed locally */ }
  return candidates.find((p) => p && fs.existsSync(p));
}

function main() {
  if (process.env.DETEX_SKIP_NATIVE === '1') giveUp('DETEX_SKIP_NATIVE=1');
  if (process.platform !== 'linux') giveUp(`only built on Linux so far (this is ${process.platform})`);
  if (!has('c++') && !has('g++')) giveUp('no C++ compiler (apt-get install -y g++ make python3)');
  if (!has('make')) giveUp('no make (apt-get install -y make)');
  if (!has('python3')) giveUp('no python3 (node-gyp needs it)');
  const incDirs = ['/usr/include', '/usr/local/include', ...(process.env.CPATH || '').split(':').filter(Boolean)];
  if (!incDirs.some((d) => fs.existsSync(path.join(d, 'dnnl.hpp')))) {
    giveUp('oneDNN headers (dnnl.hpp) not found (apt-get install -y libdnnl-dev)');
  }
  const gyp = findNodeGyp();
  if (!gyp) giveUp('node-gyp not found (it ships with npm)');
  // Use the running Node's own headers when they are installed next to it, so node-gyp does not
  // try to download them (there may be no network).
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const args = [gyp, 'rebuild', `--directory=${here}`, '--jobs=2'];
  if (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write((r.stdout || '').slice(-4000) + (r.stderr || '').slice(-4000));
    giveUp(`node-gyp rebuild failed (exit ${r.status}); see the output above`);
  }
  const built = path.join(here, 'build', 'Release', 'detex_native.node');
  if (!fs.existsSync(built)) giveUp('node-gyp finished but detex_native.node is missing');
  // Loading it proves the shared libraries (libdnnl, libgomp) resolve at run time too.
  try {
    require(built);
  } catch (e) {
    giveUp(`built, but it does not load: ${e.message}`);
  }
  record(true, undefined);
  console.log(`[detex] native kernels built: ${path.relative(process.cwd(), built)}`);
}

main();
