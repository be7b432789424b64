/**
 * Finds and loads the optional C++ addon built by native/install.js, and types its functions.
 * All buffers are float32 typed arrays shared with tfjs' cpu backend (no copies); outputs are
 * allocated on the JS side and filled by the addon. Layouts are documented in native/src/*.cc.
 */
import * as fs from 'fs';
import * as path from 'path';

export interface NativeAddon {
  /** geometry: [N,H,W,C, KH,KW,OC, OH,OW, sH,sW, dH,dW, padTop,padLeft,padBottom,padRight] */
  /** with an addend (y's shape): y = conv + bias + addend, then the activation */
  conv2dForward(x: Float32Array, filter: Float32Array, bias: Float32Array | null, y: Float32Array,
    geometry: Int32Array, activation: number, leakyAlpha: number, addend?: Float32Array | null): void;
  conv2dBackwardData(dy: Float32Array, filter: Float32Array, dx: Float32Array, geometry: Int32Array): void;
  conv2dBackwardFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, geometry: Int32Array): void;
  /** geometry: [batchA, batchB, M, N, K, transposeA, transposeB] */
  batchMatMul(a: Float32Array, b: Float32Array, c: Float32Array, geometry: Int32Array,
    bias: Float32Array | null, activation: number, leakyAlpha: number): void;
  binary(op: number, a: Float32Array, aShape: Int32Array, b: Float32Array, bShape: Int32Array,
    y: Float32Array, yShape: Int32Array): void;
  reduce(op: number, x: Float32Array, shape: Int32Array, axes: Int32Array, y: Float32Array): void;
  transpose(x: Float32Array, shape: Int32Array, perm: Int32Array, y: Float32Array): void;
  unary(op: number, x: Float32Array, y: Float32Array): void;
  softmax(x: Float32Array, rows: number, cols: number, y: Float32Array): void;
  slice(x: Float32Array, shape: Int32Array, begin: Int32Array, size: Int32Array, y: Float32Array): void;
  /** fused softmax(QKᵀ·scale)V; geometry [B, Nq, Nk, heads, d, dv]; lse [B, heads, Nq] (native/src/attention.cc) */
  attention(q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array, lse: Float32Array, geometry: Int32Array, scale: number): void;
  attentionBackward(q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array, lse: Float32Array, dout: Float32Array,
    dq: Float32Array, dk: Float32Array, dv: Float32Array, geometry: Int32Array, scale: number): void;
  /** fused group norm (+ SiLU) over x [B, P, C]; geometry [B, P, C, groups]; mean, rstd [B, groups] (native/src/norm.cc) */
  groupNorm(x: Float32Array, gamma: Float32Array | null, beta: Float32Array | null, y: Float32Array, mean: Float32Array,
    rstd: Float32Array, geometry: Int32Array, eps: number, silu: number): void;
  groupNormBackward(x: Float32Array, gamma: Float32Array | null, beta: Float32Array | null, mean: Float32Array, rstd: Float32Array,
    dy: Float32Array, dx: Float32Array, dgamma: Float32Array | null, dbeta: Float32Array | null, geometry: Int32Array, silu: number): void;
  /** layer norm over the last axis of x [rows, cols]; mean, rstd [rows] */
  layerNorm(x: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array, mean: Float32Array, rstd: Float32Array,
    rows: number, cols: number, eps: number): void;
  layerNormBackward(x: Float32Array, gamma: Float32Array, mean: Float32Array, rstd: Float32Array, dy: Float32Array,
    dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array, rows: number, cols: number): void;
  /** a whole pre-LN encoder block, forward only; geometry [B, H, W, C, heads, F, window, act, fusedQkv] (native/src/encoder-block.cc) */
  encoderBlock(x: Float32Array, y: Float32Array, ln1Gamma: Float32Array, ln1Beta: Float32Array, wq: Float32Array, wk: Float32Array | null,
    wv: Float32Array | null, bq: Float32Array | null, bk: Float32Array | null, bv: Float32Array | null, wo: Float32Array, bo: Float32Array | null,
    ln2Gamma: Float32Array, ln2Beta: Float32Array, w1: Float32Array, b1: Float32Array | null, w2: Float32Array, b2: Float32Array | null,
    mask: Float32Array | null, relH: Float32Array | null, relW: Float32Array | null, geometry: Int32Array, eps: number, scale: number): void;
  /** nearest ×2 of NHWC x; geometry [B, H, W, C] (native/src/resample.cc) */
  upsampleNearest2x(x: Float32Array, y: Float32Array, geometry: Int32Array): void;
  /** one AdamW step over one variable; scalars [decay, β1, 1−β1, β2, 1−β2, √bc2, ε, lr/bc1] (native/src/adamw.cc) */
  adamW(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, paramOut: Float32Array, mOut: Float32Array,
    vOut: Float32Array, scalars: Float32Array, applyDecay: number): void;
  setThreads(n: number): void;
  info(): { onednn: string; threads: number; isa: string };
}

const ADDON_FILE = path.join('native', 'build', 'Release', 'detex_native.node');
const STATUS_FILE = path.join('native', 'build', 'status.json');

/** The package root: the nearest ancestor of this file holding our package.json (works from lib/ and dist/lib/). */
function packageRoot(): string | undefined {
  let dir = __dirname;
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        if (JSON.parse(fs.readFileSync(pj, 'utf8')).name === 'node-red-contrib-detex') return dir;
      } catch {
        /* unreadable package.json: keep walking */
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** Why the build did not happen, as native/install.js recorded it. */
function buildReason(root: string): string | undefined {
  try {
    const s = JSON.parse(fs.readFileSync(path.join(root, STATUS_FILE), 'utf8')) as { built: boolean; reason?: string };
    return s.built ? undefined : s.reason;
  } catch {
    return undefined;
  }
}

export type AddonResult = { addon: NativeAddon; file: string } | { addon?: undefined; reason: string };

/** Loads the addon; DETEX_NATIVE_ADDON=<file> overrides where it is looked for. */
export function loadAddon(): AddonResult {
  const root = packageRoot();
  const file = process.env.DETEX_NATIVE_ADDON || (root ? path.join(root, ADDON_FILE) : undefined);
  if (!file) return { reason: 'package root not found, so no native/build to look in' };
  if (!fs.existsSync(file)) {
    const why = root ? buildReason(root) : undefined;
    return { reason: why ? `not built: ${why}` : `not built (no ${ADDON_FILE}; run npm run build:native)` };
  }
  // libgomp reads this once, when the addon pulls it in. Passive: idle pool threads sleep instead
  // of spinning, so they neither burn a core Node-RED needs nor stall when other processes share
  // the cores (spinning OpenMP barriers collapse under oversubscription). The user's value wins.
  if (process.env.OMP_WAIT_POLICY === undefined) process.env.OMP_WAIT_POLICY = 'passive';
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return { addon: require(file) as NativeAddon, file };
  } catch (e) {
    return { reason: `${file} failed to load: ${(e as Error).message.split('\n')[0]}` };
  }
}
