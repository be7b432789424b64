/** samMask: one image + point/box prompt → the subject mask, with SAM (SamPredictor; best mask by predicted IoU). */
import { hostTensor } from '../io/host-tensor';
import { DetexSession } from './session';
import { Image, Mask } from './types';

export interface SamPromptInput {
  /** [[x, y], …] in pixels of the image */
  points?: number[][];
  /** 1 = foreground, 0 = background, one per point (default all 1) */
  labels?: number[];
  /** [x0, y0, x1, y1] in pixels */
  box?: number[];
  /** three candidate masks instead of one; default: true for a single point without a box (SAM's advice for ambiguous prompts) */
  multimask?: boolean;
}

export interface SamMaskResult {
  mask: Mask;
  /** the predicted IoU of the chosen mask */
  score: number;
}

export async function samMask(s: DetexSession, image: Image, prompt: SamPromptInput): Promise<SamMaskResult> {
  if (image.dtype !== 'uint8' || image.shape.length !== 3 || image.shape[2] !== 3) {
    throw new Error(`samMask: the image must be uint8 [H, W, 3], got ${image.dtype} [${image.shape}]`);
  }
  const { points, box } = prompt;
  if (!points?.length && !box) throw new Error('samMask: give points or a box');
  const labels = points ? prompt.labels ?? points.map(() => 1) : undefined;
  if (points && labels!.length !== points.length) throw new Error(`samMask: ${labels!.length} labels for ${points.length} points`);
  const multimask = prompt.multimask ?? (points?.length === 1 && !box);
  const predictor = await s.sam();
  return s.exclusive(async () => {
    predictor.setImage(image);
    try {
      const p = predictor.predict({
        pointCoords: points ? hostTensor('float32', [points.length, 2], Float32Array.from(points.flat())) : undefined,
        pointLabels: labels ? hostTensor('float32', [labels.length], Float32Array.from(labels)) : undefined,
        box: box ? hostTensor('float32', [4], Float32Array.from(box)) : undefined,
        multimaskOutput: multimask,
      });
      const iou = p.iouPredictions.data;
      let best = 0;
      for (let i = 1; i < iou.length; i++) if (iou[i] > iou[best]) best = i;
      const [, H, W] = p.masks.shape;
      const mask = hostTensor('uint8', [H, W], Uint8Array.from(p.masks.data.subarray(best * H * W, (best + 1) * H * W)));
      return { mask, score: iou[best] as number };
    } finally {
      predictor.reset();
    }
  });
}
