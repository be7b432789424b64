/**
 * A generic, resumable pretraining loop: AdamW (torch-exact, `lib/detex/adamw`) over chosen ParamStore
 * variables, global-norm gradient clipping, warmup + cosine lr, gradient accumulation, periodic atomic
 * checkpoints, a wall-clock budget and a JSONL loss log.
 *
 * Determinism: the randomness of step s (1-based) micro-batch k is `Rng(seed).fork('step:s').fork(k)`:
 * the step index alone restores it, so "run 10 steps" and "run 4, kill, resume, run 6" give bit-identical
 * weights (same backend). Anything the loss function draws must come from that rng.
 *
 * Files in `dir`: `checkpoint.safetensors` (weights + moments + step) and `log.jsonl` (one line per step;
 * on resume, lines past the checkpoint's step are dropped so the log matches the weights).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { AdamW } from '../detex/adamw';
import { AdamWOptions } from '../detex/config';
import { Rng } from '../random';
import { checkpointExists, loadCheckpoint, loadEmaState, saveCheckpoint } from './checkpoint';
import { WeightEma } from './ema';
import { clipByGlobalNorm } from './grad-clip';
import { learningRate, LrSchedule } from './schedule';

export interface StepContext {
  /** 1-based index of the update being computed */
  step: number;
  /** micro-batch index within the step */
  micro: number;
  rng: Rng;
}

/** The loss to minimise (a scalar) and optional extra scalars to log (by name). Runs inside a gradient tape. */
export type LossFn = (ctx: StepContext) => { loss: tf.Scalar; logs?: Record<string, tf.Scalar> };

export interface LoopOptions {
  /** checkpoint + log folder (created) */
  dir: string;
  vars: ReadonlyMap<string, tf.Variable>;
  loss: LossFn;
  seed: number;
  schedule: LrSchedule;
  adam?: Partial<AdamWOptions>;
  /** max global gradient norm (none: no clipping) */
  clipNorm?: number;
  /** micro-batches per update; gradients are averaged */
  accumulate?: number;
  /** checkpoint every n steps (default 100) and at the end of the run */
  checkpointEvery?: number;
  /** stop cleanly (with a checkpoint) once this run has used this many minutes */
  minutes?: number;
  /** stop after this many steps in this run (tests, benchmarking) */
  maxSteps?: number;
  /** stop cleanly on SIGINT/SIGTERM (scripts) */
  handleSignals?: boolean;
  /** keep an exponential moving average of the weights with this decay (saved in the checkpoint) */
  emaDecay?: number;
  /** per-variable multiplier of the scheduled lr (by the `vars` key; default 1): parts fine-tuned more gently */
  lrScale?: (name: string) => number;
  /** called after every checkpoint (e.g. to export or write a preview); may be async */
  onCheckpoint?: (step: number, ctx: CheckpointContext) => void | Promise<void>;
  /** progress lines (default: none) */
  print?: (line: string) => void;
  /** print every n steps (default 10) */
  printEvery?: number;
  /** extra metadata stored in the checkpoint */
  metadata?: Record<string, string>;
}

export interface CheckpointContext {
  /** whether the run keeps a weight average */
  hasAverage: boolean;
  /** runs `fn` with the averaged weights in the variables (without an average: the trained ones) */
  withAveragedWeights<T>(fn: () => T | Promise<T>): Promise<T>;
}

export interface LoopResult {
  /** updates done in total (across resumes) */
  step: number;
  /** updates done in this run */
  ran: number;
  stoppedBy: 'done' | 'budget' | 'signal' | 'maxSteps';
  /** mean loss over this run's last (up to) 20 steps */
  recentLoss: number;
}

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
export const LOG_FILE = 'log.jsonl';

const ADAM_DEFAULTS: AdamWOptions = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

/** Keeps the log consistent with the checkpoint: drops lines of steps the checkpoint does not contain. */
function truncateLog(file: string, step: number): void {
  if (!fs.existsSync(file)) return;
  const keep = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && (JSON.parse(l) as { step: number }).step <= step);
  fs.writeFileSync(file, keep.map((l) => l + '\n').join(''));
}

/** Loss + gradients of one micro-batch; `logs` values are read to numbers here. */
function microStep(vars: tf.Variable[], loss: LossFn, ctx: StepContext): { loss: number; logs: Record<string, number>; grads: tf.NamedTensorMap } {
  const kept: Record<string, tf.Scalar> = {};
  const { value, grads } = tf.variableGrads(() => {
    const out = loss(ctx);
    for (const [k, t] of Object.entries(out.logs ?? {})) kept[k] = tf.keep(t);
    return out.loss;
  }, vars);
  const lossValue = value.dataSync()[0];
  value.dispose();
  const logs: Record<string, number> = {};
  for (const [k, t] of Object.entries(kept)) {
    logs[k] = t.dataSync()[0];
    t.dispose();
  }
  return { loss: lossValue, logs, grads };
}

export async function runLoop(o: LoopOptions): Promise<LoopResult> {
  fs.mkdirSync(o.dir, { recursive: true });
  const ckpt = path.join(o.dir, CHECKPOINT_FILE);
  const logFile = path.join(o.dir, LOG_FILE);
  const adam = new AdamW(o.vars, { ...ADAM_DEFAULTS, ...o.adam });
  const names = [...o.vars.keys()];
  const varList = [...o.vars.values()];
  const accumulate = o.accumulate ?? 1;
  const every = o.checkpointEvery ?? 100;
  const print = o.print ?? (() => undefined);
  const root = new Rng(o.seed);
  let step = 0;
  if (checkpointExists(ckpt)) {
    step = loadCheckpoint(ckpt, o.vars, adam).step;
    print(`resumed at step ${step} from ${ckpt}`);
  }
  truncateLog(logFile, step);
  const ema = o.emaDecay === undefined ? undefined : new WeightEma(o.vars, o.emaDecay);
  if (ema && checkpointExists(ckpt) && !loadEmaState(ckpt, ema)) print(`the checkpoint has no weight average: it starts now, from the step-${step} weights`);
  const ctx: CheckpointContext = {
    hasAverage: !!ema,
    withAveragedWeights: async (fn) => (ema ? ema.withAveragedWeights(fn) : fn()),
  };

  let stop: LoopResult['stoppedBy'] | undefined;
  const onSignal = () => {
    stop = 'signal';
  };
  if (o.handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  const started = Date.now();
  const recent: number[] = [];
  let ran = 0;
  let lastSaved = step;
  const checkpoint = async () => {
    saveCheckpoint(ckpt, o.vars, adam, o.metadata, ema);
    lastSaved = step;
    await o.onCheckpoint?.(step, ctx);
  };
  try {
    while (step < o.schedule.totalSteps) {
      // Let signal handlers (and a host's event loop) run between steps: the step itself is synchronous.
      await new Promise((r) => setImmediate(r));
      if (stop) break;
      if (o.maxSteps !== undefined && ran >= o.maxSteps) {
        stop = 'maxSteps';
        break;
      }
      if (o.minutes !== undefined && Date.now() - started > o.minutes * 60000) {
        stop = 'budget';
        break;
      }
      const t0 = Date.now();
      const s = step + 1;
      const stepRng = root.fork(`step:${s}`);
      let acc = new Map<string, tf.Tensor>();
      let lossSum = 0;
      const logSums: Record<string, number> = {};
      for (let k = 0; k < accumulate; k++) {
        const r = microStep(varList, o.loss, { step: s, micro: k, rng: stepRng.fork(k) });
        lossSum += r.loss;
        for (const [kk, v] of Object.entries(r.logs)) logSums[kk] = (logSums[kk] ?? 0) + v;
        varList.forEach((v, i) => {
          const g = r.grads[v.name];
          if (!g) return;
          const prev = acc.get(names[i]);
          if (!prev) acc.set(names[i], g);
          else {
            acc.set(names[i], tf.add(prev, g));
            prev.dispose();
            g.dispose();
          }
        });
      }
      if (accumulate > 1) {
        const scaled = new Map<string, tf.Tensor>();
        for (const [k, g] of acc) {
          scaled.set(k, tf.div(g, accumulate));
          g.dispose();
        }
        acc = scaled;
      }
      const clipped = clipByGlobalNorm(acc, o.clipNorm);
      const lr = learningRate(o.schedule, s);
      const scale = o.lrScale;
      adam.apply(clipped.grads, scale ? (name) => lr * scale(name) : lr);
      for (const g of clipped.grads.values()) g.dispose();
      ema?.update();
      step = s;
      ran++;
      const loss = lossSum / accumulate;
      if (!Number.isFinite(loss)) throw new Error(`pretrain: loss became ${loss} at step ${s}; not saving (last checkpoint: step ${lastSaved})`);
      recent.push(loss);
      if (recent.length > 20) recent.shift();
      const logs = Object.fromEntries(Object.entries(logSums).map(([k, v]) => [k, v / accumulate]));
      const ms = Date.now() - t0;
      fs.appendFileSync(logFile, JSON.stringify({ step: s, loss, ...logs, lr, gradNorm: clipped.norm, ms, time: new Date().toISOString() }) + '\n');
      if (s % (o.printEvery ?? 10) === 0 || ran === 1) {
        const extra = Object.entries(logs).map(([k, v]) => ` ${k} ${v.toPrecision(4)}`).join('');
        print(`step ${s}/${o.schedule.totalSteps} loss ${loss.toPrecision(4)}${extra} lr ${lr.toExponential(2)} |g| ${clipped.norm.toPrecision(3)} ${ms} ms`);
      }
      if (s % every === 0) await checkpoint();
    }
    if (!stop) stop = 'done';
    if (lastSaved !== step) await checkpoint();
    print(`stopped (${stop}) at step ${step}; ran ${ran} steps in ${((Date.now() - started) / 60000).toFixed(1)} min`);
  } finally {
    if (o.handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    adam.dispose();
    ema?.dispose();
  }
  return { step, ran, stoppedBy: stop, recentLoss: recent.reduce((a, b) => a + b, 0) / Math.max(1, recent.length) };
}
