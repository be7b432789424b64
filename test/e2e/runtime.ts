/**
 * Starts headless Node-RED runtimes (with this package installed by symlink) and a mosquitto broker on loopback.
 * A runtime's nodes use the fast fake engine (test/nodes/fake-engine) unless `engine: 'real'` is asked for: then
 * they run lib on the embedded default model, as an installed package does. Every runtime also answers
 * GET /detex-test/state on its admin API (tfjs tensor count and loaded models, for leak checks), and
 * `watchDebug` follows its debug sidebar and node statuses over the editor's comms websocket.
 */
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { spawn, ChildProcess, execFileSync } from 'child_process';
import { removeTempDir, tempDir } from '../helpers/temp-dir';

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
  /** stops Node-RED (SIGTERM, SIGKILL after 8 s) and then removes its userDir */
  stop(): Promise<void>;
}

export function example(name: string): Array<Record<string, unknown>> {
  const file = fs.readdirSync(path.join(ROOT, 'examples')).find((f) => f.startsWith(name));
  if (!file) throw new Error(`no example ${name}`);
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', file), 'utf8'));
}

export interface RuntimeOptions {
  /** extra settings.js entries, e.g. `httpNodeAuth: {...}` */
  settings?: string;
  env?: Record<string, string>;
  /**
   * 'fake' (default): test/nodes/fake-engine, a job takes milliseconds. 'real': lib's engine (nodes/shared/lib-engine)
   * with real models, real training in the child process and real sampling.
   */
  engine?: 'fake' | 'real';
  /** how long Node-RED may take to start its flows (default 30 s; a loaded shared CPU needs more) */
  startTimeoutMs?: number;
}

/**
 * The admin route GET /detex-test/state, in settings.js. It reads the runtime's own tfjs engine (the package is
 * symlinked, so the nodes and this route resolve the same modules) without initialising a backend.
 */
function stateProbe(): string {
  const root = fs.realpathSync(ROOT);
  const models = JSON.stringify(path.join(root, 'dist', 'nodes', 'shared', 'models.js'));
  const tfCore = JSON.stringify(path.join(root, 'node_modules', '@tensorflow', 'tfjs-core'));
  return `httpAdminMiddleware: function (req, res, next) {
    if (req.method !== 'GET' || req.path !== '/detex-test/state') return next();
    const tf = require(${tfCore});
    res.json({ numTensors: tf.engine().state.numTensors, backend: tf.engine().backendName || null, loadedModels: require(${models}).loadedModelCount() });
  }`;
}

export async function startRuntime(flows: unknown[], opts: RuntimeOptions = {}): Promise<Runtime> {
  const port = await freePort();
  const userDir = tempDir('detex-e2e-');
  fs.mkdirSync(path.join(userDir, 'node_modules'));
  fs.symlinkSync(ROOT, path.join(userDir, 'node_modules', 'node-red-contrib-detex'));
  fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows));
  fs.writeFileSync(
    path.join(userDir, 'settings.js'),
    `module.exports = { uiPort: ${port}, uiHost: '127.0.0.1', flowFile: 'flows.json', credentialSecret: false, editorTheme: { tours: false }, ${stateProbe()}, ${opts.settings ?? ''} };\n`,
  );
  const log: string[] = [];
  const env: Record<string, string | undefined> = { ...process.env };
  if (opts.engine === 'real') delete env.DETEX_NODES_ENGINE; // the training child inherits this environment too
  else Object.assign(env, { DETEX_NODES_ENGINE: FAKE_ENGINE, FAKE_STEP_MS: '1' });
  const proc = spawn(process.execPath, [path.join(ROOT, 'node_modules', 'node-red', 'red.js'), '-u', userDir, '-s', path.join(userDir, 'settings.js')], {
    env: { ...env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout?.on('data', (d) => log.push(String(d)));
  proc.stderr?.on('data', (d) => log.push(String(d)));
  const rt: Runtime = {
    port,
    userDir,
    proc,
    log,
    stop: async () => {
      await new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 8000).unref();
      });
      removeTempDir(userDir);
    },
  };
  try {
    await waitFor(async () => log.join('').includes('Started flows'), opts.startTimeoutMs ?? 30000, `Node-RED on port ${port}`);
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

/** A loopback mosquitto; `stop()` ends it and then removes its config folder. */
export async function startMosquitto(): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const dir = tempDir('detex-mqtt-');
  fs.writeFileSync(path.join(dir, 'm.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const bin = fs.existsSync('/usr/sbin/mosquitto') ? '/usr/sbin/mosquitto' : 'mosquitto';
  const proc = spawn(bin, ['-c', path.join(dir, 'm.conf')], { stdio: 'ignore' });
  const stop = async (): Promise<void> => {
    if (proc.pid !== undefined && proc.exitCode === null && proc.signalCode === null) {
      await new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      });
    }
    removeTempDir(dir);
  };
  try {
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
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, stop };
}

/**
 * A loopback mosquitto for one mocha describe block: started before its tests, stopped after; the block is
 * skipped, saying why, where mosquitto is not installed. Returns a getter for the broker's port.
 */
export function mosquittoForSuite(): () => number {
  let broker: { port: number; stop(): Promise<void> } | undefined;
  before(async function () {
    if (!hasMosquitto()) {
      console.log('    (skipped: mosquitto is not installed; .ci/run installs it)');
      this.skip();
    }
    broker = await startMosquitto();
  });
  after(() => broker?.stop());
  return () => {
    if (!broker) throw new Error('mosquittoForSuite: the broker is not running (used outside its describe block?)');
    return broker.port;
  };
}

/** GET /detex-test/state: the runtime's tfjs tensor count, backend (null until one is chosen) and loaded models. */
export interface RuntimeState {
  numTensors: number;
  backend: string | null;
  loadedModels: number;
}

export async function runtimeState(rt: Runtime): Promise<RuntimeState> {
  const r = await fetch(`http://127.0.0.1:${rt.port}/detex-test/state`);
  if (r.status !== 200) throw new Error(`GET /detex-test/state: HTTP ${r.status} ${await r.text()}`);
  return (await r.json()) as RuntimeState;
}

/** A full deploy of `flows` through the admin API: every node closes (models are released) and starts again. */
export async function deployFull(rt: Runtime, flows: unknown[]): Promise<void> {
  const r = await fetch(`http://127.0.0.1:${rt.port}/flows`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
    body: JSON.stringify(flows),
  });
  if (r.status !== 204 && r.status !== 200) throw new Error(`deploy: HTTP ${r.status} ${await r.text()}`);
}

/** Presses an inject node's button (the editor's POST /inject/:id). */
export async function pressInject(rt: Runtime, id: string): Promise<void> {
  const r = await fetch(`http://127.0.0.1:${rt.port}/inject/${id}`, { method: 'POST' });
  if (r.status !== 200) throw new Error(`inject ${id}: HTTP ${r.status} ${await r.text()}`);
}

/** CPU seconds (user + system) used by process `pid` and its children that have exited (Linux /proc; NaN elsewhere). */
export function cpuSeconds(pid: number): number {
  if (!fs.existsSync(`/proc/${pid}/stat`)) return NaN;
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[11..14] = utime stime cutime cstime
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100; // USER_HZ is 100 on Linux
}

/** Live child processes of `pid` (Linux /proc; [] elsewhere). */
export function childPids(pid: number): number[] {
  if (!fs.existsSync('/proc/self/stat')) return [];
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // state ppid …
      if (Number(fields[1]) === pid && fields[0] !== 'Z') out.push(Number(d));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

/** The last `chars` characters of the runtime's console (with the training child's, which it inherits). */
export function logTail(rt: Runtime, chars = 4000): string {
  const all = rt.log.join('');
  return all.length > chars ? '…' + all.slice(-chars) : all;
}

export interface DebugMessage {
  /** the debug node's name and id */
  name: string;
  id: string;
  /** the msg as the sidebar gets it (JSON-decoded when it is an object; long buffers and strings are truncated) */
  msg: unknown;
}

export interface DebugWatch {
  messages: DebugMessage[];
  /** node id → its latest status text */
  statuses: Map<string, string>;
  /**
   * The first `n` messages of the debug node named `name`. Fails at once, with the error, the nodes' statuses and
   * the runtime's console, when the debug node named `errorsFrom` gets a message (the examples wire their Catch
   * node to one named "errors") or the runtime exits; and so, with what was seen, after `ms`.
   */
  until(name: string, n: number, ms: number): Promise<DebugMessage[]>;
  close(): void;
}

/** Follows the debug sidebar and node statuses of a runtime over its comms websocket, as the editor does. */
export async function watchDebug(rt: Runtime, errorsFrom = 'errors'): Promise<DebugWatch> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const WebSocket = require('ws');
  const ws = new WebSocket(`ws://127.0.0.1:${rt.port}/comms`);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const messages: DebugMessage[] = [];
  const statuses = new Map<string, string>();
  ws.on('message', (data: Buffer) => {
    let list: Array<{ topic: string; data: Record<string, unknown> }>;
    try {
      list = JSON.parse(String(data));
    } catch {
      return;
    }
    for (const m of Array.isArray(list) ? list : [list]) {
      if (m.topic === 'debug') {
        let msg: unknown = m.data.msg;
        try {
          msg = m.data.format === 'Object' || String(m.data.format).startsWith('array') ? JSON.parse(String(msg)) : msg;
        } catch {
          // keep the sidebar text
        }
        messages.push({ name: String(m.data.name ?? ''), id: String(m.data.id ?? ''), msg });
      } else if (typeof m.topic === 'string' && m.topic.startsWith('status/')) {
        statuses.set(m.topic.slice('status/'.length), String((m.data as { text?: unknown })?.text ?? ''));
      }
    }
  });
  ws.send(JSON.stringify({ subscribe: 'debug' }));
  ws.send(JSON.stringify({ subscribe: 'status/#' }));
  const context = () => `node statuses: ${JSON.stringify(Object.fromEntries(statuses))}\nruntime console:\n${logTail(rt)}`;
  return {
    messages,
    statuses,
    async until(name, n, ms) {
      const end = Date.now() + ms;
      for (;;) {
        const err = messages.find((m) => m.name === errorsFrom);
        if (err) {
          const e = (err.msg as { error?: { message?: string; source?: { type?: string; id?: string } } }).error;
          const where = e?.source ? ` (from ${e.source.type} ${e.source.id})` : '';
          throw new Error(`the flow reported an error${where}: ${e?.message ?? JSON.stringify(err.msg)}\n${context()}`);
        }
        const got = messages.filter((m) => m.name === name);
        if (got.length >= n) return got.slice(0, n);
        if (rt.proc.exitCode !== null || rt.proc.signalCode !== null) throw new Error(`the runtime exited (${rt.proc.exitCode ?? rt.proc.signalCode})\n${context()}`);
        if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${n} message(s) on debug "${name}" (got ${got.length})\n${context()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    close: () => ws.close(),
  };
}
