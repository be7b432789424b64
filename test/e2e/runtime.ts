/** Starts headless Node-RED runtimes (with this package installed by symlink) and a mosquitto broker on loopback. */
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { spawn, ChildProcess, execFileSync } from 'child_process';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const FAKE_ENGINE = path.join(__dirname, '..', 'nodes', 'fake-engine.js');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
    s.on('error', reject);
  });
}

async function waitFor(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export interface Runtime {
  port: number;
  userDir: string;
  proc: ChildProcess;
  log: string[];
  stop(): Promise<void>;
}

export function example(name: string): Array<Record<string, unknown>> {
  const file = fs.readdirSync(path.join(ROOT, 'examples')).find((f) => f.startsWith(name));
  if (!file) throw new Error(`no example ${name}`);
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', file), 'utf8'));
}

export async function startRuntime(flows: unknown[], opts: { settings?: string; env?: Record<string, string> } = {}): Promise<Runtime> {
  const port = await freePort();
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'detex-e2e-'));
  fs.mkdirSync(path.join(userDir, 'node_modules'));
  fs.symlinkSync(ROOT, path.join(userDir, 'node_modules', 'node-red-contrib-detex'));
  fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows));
  fs.writeFileSync(
    path.join(userDir, 'settings.js'),
    `module.exports = { uiPort: ${port}, uiHost: '127.0.0.1', flowFile: 'flows.json', credentialSecret: false, editorTheme: { tours: false }, ${opts.settings ?? ''} };\n`,
  );
  const log: string[] = [];
  const proc = spawn(process.execPath, [path.join(ROOT, 'node_modules', 'node-red', 'red.js'), '-u', userDir, '-s', path.join(userDir, 'settings.js')], {
    env: { ...process.env, DETEX_NODES_ENGINE: FAKE_ENGINE, FAKE_STEP_MS: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout?.on('data', (d) => log.push(String(d)));
  proc.stderr?.on('data', (d) => log.push(String(d)));
  const rt: Runtime = {
    port,
    userDir,
    proc,
    log,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 8000).unref();
      }),
  };
  try {
    await waitFor(async () => log.join('').includes('Started flows'), 30000, `Node-RED on port ${port}`);
  } catch (e) {
    await rt.stop();
    throw new Error(`${(e as Error).message}\n${log.join('')}`);
  }
  return rt;
}

export function hasMosquitto(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v mosquitto || test -x /usr/sbin/mosquitto']);
    return true;
  } catch {
    return false;
  }
}

export async function startMosquitto(): Promise<{ port: number; stop(): void }> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'detex-mqtt-'));
  fs.writeFileSync(path.join(dir, 'm.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const bin = fs.existsSync('/usr/sbin/mosquitto') ? '/usr/sbin/mosquitto' : 'mosquitto';
  const proc = spawn(bin, ['-c', path.join(dir, 'm.conf')], { stdio: 'ignore' });
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => {
          s.end();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      }),
    10000,
    'mosquitto',
  );
  return { port, stop: () => proc.kill('SIGTERM') };
}
