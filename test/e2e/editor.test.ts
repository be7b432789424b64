/**
 * The editor in headless Chromium (Debian chromium + playwright-core): every node is in the
 * palette, an example flow imports, and a node's dialog opens, shows its i18n labels and saves.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { example, startRuntime, Runtime } from './runtime';
import { removeTempDir, tempDir } from '../helpers/temp-dir';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const window: any;
const CHROMIUM = '/usr/bin/chromium';
const TYPES = ['sam-mask', 'clip-encode', 'attribute-mapper', 'detex-train', 'prompt-composer', 'ddim-sample', 'detex-image-in', 'detex-image-out', 'detex-eval'];

describe('the editor in headless Chromium', function () {
  this.timeout(90000);
  let rt: Runtime | undefined;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let browser: any;
  let profile: string | undefined;
  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log('    (skipped: /usr/bin/chromium is not installed; .ci/run installs it)');
      this.skip();
    }
    rt = await startRuntime([]);
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { chromium } = require('playwright-core');
    // a fresh profile folder (playwright passes it as --user-data-dir), removed once Chromium has closed
    profile = tempDir('detex-chromium-');
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  after(async () => {
    await browser?.close();
    if (profile) removeTempDir(profile);
    await rt?.stop();
  });

  it('should list every node in the palette, import an example, and open and save a dialog', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e: Error) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${rt!.port}/`);
    await page.waitForSelector('.red-ui-palette-node[data-palette-type="ddim-sample"]', { timeout: 30000 });
    for (const t of TYPES) assert.strictEqual(await page.locator(`.red-ui-palette-node[data-palette-type="${t}"]`).count(), 1, `palette has ${t}`);
    const paletteLabel = await page.locator('.red-ui-palette-node[data-palette-type="ddim-sample"] .red-ui-palette-label').innerText();
    assert.strictEqual(paletteLabel.replace(/\s+/g, '').replace(/-+/g, '-'), 'DDIM-sample'); // the palette may hyphenate

    const flow = example('01');
    const imported = await page.evaluate((f: unknown) => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const RED = (window as any).RED;
      RED.view.importNodes(f, { addFlow: true });
      return RED.nodes.filterNodes({ type: 'ddim-sample' }).length;
    }, flow);
    assert.strictEqual(imported, 1);

    await page.evaluate(() => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const RED = (window as any).RED;
      RED.editor.edit(RED.nodes.filterNodes({ type: 'ddim-sample' })[0]);
    });
    await page.waitForSelector('#node-input-steps', { state: 'visible' });
    const label = await page.locator('label[for="node-input-steps"]').innerText();
    assert.strictEqual(label.trim(), 'Steps');
    await page.fill('#node-input-steps', '12');
    await page.waitForTimeout(500); // the tray slides in
    await page.locator('#node-dialog-ok').dispatchEvent('click');
    const steps = await page.evaluate(() => (window as any).RED.nodes.filterNodes({ type: 'ddim-sample' })[0].steps); // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.strictEqual(steps, '12');

    const help = await page.evaluate(() => (window as any).RED.nodes.getNodeHelp?.('detex-train') ?? ''); // eslint-disable-line @typescript-eslint/no-explicit-any
    if (help) assert.match(help, /Inputs/);
    assert.deepStrictEqual(errors, []);
  });
});
