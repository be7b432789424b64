// Copies what tsc does not: each node's editor .html (beside its compiled .js, as Node-RED
// expects) and any locale folders.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
function copyTree(srcDir, dstDir, keep) {
  if (!fs.existsSync(srcDir)) return;
  for (const entry of fs.readdirSync(srcDir, { withFileTypes: true })) {
    const src = path.join(srcDir, entry.name);
    const dst = path.join(dstDir, entry.name);
    if (entry.isDirectory()) copyTree(src, dst, keep);
    else if (keep(entry.name)) {
      fs.mkdirSync(dstDir, { recursive: true });
      fs.copyFileSync(src, dst);
    }
  }
}
copyTree(path.join(root, 'nodes'), path.join(root, 'dist', 'nodes'), (n) => !n.endsWith('.ts'));

// Shared messages (nodes/shared/locales/<lang>/common.json) go into every node's catalog under
// "common", so each node resolves RED._('common.errors.…') in its own namespace.
const sharedLocales = path.join(root, 'nodes', 'shared', 'locales');
if (fs.existsSync(sharedLocales)) {
  for (const lang of fs.readdirSync(sharedLocales)) {
    const common = JSON.parse(fs.readFileSync(path.join(sharedLocales, lang, 'common.json'), 'utf8'));
    for (const type of fs.readdirSync(path.join(root, 'nodes'))) {
      const cat = path.join(root, 'dist', 'nodes', type, 'locales', lang, `${type}.json`);
      if (!fs.existsSync(cat)) continue;
      const j = JSON.parse(fs.readFileSync(cat, 'utf8'));
      j.common = common;
      fs.writeFileSync(cat, JSON.stringify(j, null, 2) + '\n');
    }
  }
}
