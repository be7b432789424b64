/**
 * Training runs in a child process (child_process.fork of dist/nodes/detex-train/train-worker.js)
 * so HTTP, MQTT and the editor stay responsive. One training per model folder at a time; others
 * wait in a bounded queue. Cancel asks the child to stop and kills it if it does not; close kills.
 *
 * IPC (serialization 'advanced', so typed arrays travel as they are):
 *   parent → child  {type: 'train', modelFolder, job}   {type: 'cancel'}
 *   child → parent  {type: 'progress', progress}   {type: 'done', conceptPath}   {type: 'error', message}
 */
import { fork, ChildProcess } from 'child_process';
import * as path from 'path';
import { Progress, TrainJob } from './engine';
import { NodeError } from './node-base';

export const WORKER = path.join(__dirname, '..', 'detex-train', 'train-worker.js');
const LANE_MAX = 8;
const KILL_AFTER_MS = 3000;

export interface RunningJob {
  promise: Promise<{ conceptPath: string }>;
  /** stop this job: dequeue it or stop its child */
  cancel(reason: NodeError): void;
  /** resolves when its child (if any) has exited */
  exited(): Promise<void>;
}

interface Lane {
  running?: Entry;
  queue: Entry[];
}

interface Entry {
  folder: string;
  job: TrainJob;
  onProgress(p: Progress): void;
  onStart(pid: number): void;
  resolve(r: { conceptPath: string }): void;
  reject(e: Error): void;
  child?: ChildProcess;
  exited: Promise<void>;
  markExited(): void;
  cancelled?: NodeError;
}

const lanes = new Map<string, Lane>();

function laneOf(folder: string): Lane {
  let l = lanes.get(folder);
  if (!l) lanes.set(folder, (l = { queue: [] }));
  return l;
}

export function queuedTrainings(folder: string): number {
  const l = lanes.get(folder);
  return l ? l.queue.length + (l.running ? 1 : 0) : 0;
}

export function startTraining(
  folder: string,
  job: TrainJob,
  onProgress: (p: Progress) => void,
  onStart: (pid: number) => void = () => undefined,
): RunningJob {
  const lane = laneOf(folder);
  if (lane.queue.length >= LANE_MAX) throw new NodeError('common.errors.queueFull', { max: LANE_MAX });
  let markExited = () => undefined as void;
  const exited = new Promise<void>((r) => (markExited = r));
  let entry!: Entry;
  const promise = new Promise<{ conceptPath: string }>((resolve, reject) => {
    entry = { folder, job, onProgress, onStart, resolve, reject, exited, markExited };
  });
  lane.queue.push(entry);
  pump(lane);
  return {
    promise,
    cancel(reason) {
      entry.cancelled = reason;
      const i = lane.queue.indexOf(entry);
      if (i >= 0) {
        lane.queue.splice(i, 1);
        entry.markExited();
        entry.reject(reason);
        return;
      }
      const c = entry.child;
      if (c && c.exitCode === null && c.signalCode === null) {
        if (c.connected) c.send({ type: 'cancel' });
        const timer = setTimeout(() => c.kill('SIGKILL'), KILL_AFTER_MS);
        timer.unref();
      }
    },
    exited: () => exited,
  };
}

function pump(lane: Lane): void {
  if (lane.running) return;
  const e = lane.queue.shift();
  if (!e) return;
  lane.running = e;
  let settled = false;
  const finish = (err?: Error, r?: { conceptPath: string }) => {
    if (settled) return;
    settled = true;
    if (err) e.reject(e.cancelled ?? err);
    else e.resolve(r as { conceptPath: string });
  };
  const child = fork(WORKER, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  e.child = child;
  if (child.pid) e.onStart(child.pid);
  child.on('message', (m: { type: string; progress?: Progress; conceptPath?: string; message?: string }) => {
    if (m.type === 'progress' && m.progress) e.onProgress(m.progress);
    else if (m.type === 'done') finish(undefined, { conceptPath: String(m.conceptPath) });
    else if (m.type === 'error') finish(new Error(String(m.message)));
  });
  child.on('error', (err) => finish(err));
  child.on('exit', (code, signal) => {
    finish(new Error(`training process exited (${signal ?? `code ${code}`}) before finishing`));
    e.markExited();
    lane.running = undefined;
    pump(lane);
  });
  child.send({ type: 'train', modelFolder: e.folder, job: e.job });
}
