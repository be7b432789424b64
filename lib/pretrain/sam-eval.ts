/**
 * mIoU of detex-mini's SAM on held-out renders, per prompt kind, at the 64 px input resolution: a single
 * positive point (multimask; the mask with the highest predicted IoU is taken, as SamPredictor users do,
 * and the best-of-3 "oracle" is reported too), a box, and a positive + a negative point.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random';
import { RenderedScene } from '../world';
import { PromptKind, promptFor } from './sam-data';
import { MiniSam, maskIoU, sceneImages, sceneMasks } from './sam-model';

export interface SamEval {
  n: number;
  point: number;
  pointOracle: number;
  box: number;
  points2: number;
}

export function samMeanIoU(model: MiniSam, scenes: readonly RenderedScene[], seed: number, chunk = 32): SamEval {
  const sums = { point: 0, pointOracle: 0, box: 0, points2: 0 };
  const rng = new Rng(seed).fork('sam-eval');
  for (let i = 0; i < scenes.length; i += chunk) {
    const part = scenes.slice(i, i + chunk);
    const emb = tf.tidy(() => model.embed(sceneImages(part)));
    const truth = sceneMasks(part);
    const t = truth.dataSync() as Float32Array;
    for (const kind of ['point', 'box', 'points2'] as PromptKind[]) {
      const prompts = part.map((s) => promptFor(s, kind, rng));
      const { masks, iou } = model.decode(emb, prompts, kind === 'point');
      const ious = maskIoU(masks.dataSync() as Float32Array, t, masks.shape);
      const pred = iou.dataSync();
      const m = masks.shape[3];
      for (let b = 0; b < part.length; b++) {
        let chosen = 0;
        let best = 0;
        for (let k = 0; k < m; k++) {
          if (pred[b * m + k] > pred[b * m + chosen]) chosen = k;
          best = Math.max(best, ious[b * m + k]);
        }
        if (kind === 'point') {
          sums.point += ious[b * m + chosen];
          sums.pointOracle += best;
        } else sums[kind] += ious[b * m];
      }
      masks.dispose();
      iou.dispose();
    }
    emb.dispose();
    truth.dispose();
  }
  const n = scenes.length;
  return { n, point: sums.point / n, pointOracle: sums.pointOracle / n, box: sums.box / n, points2: sums.points2 / n };
}
