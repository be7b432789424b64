/**
 * segment-anything's `ResizeLongestSide` (utils/transforms.py): the image is scaled so its longest side is
 * `targetLength`, and prompt coordinates follow with per-axis factors from the *rounded* size, so x and y
 * scale by slightly different amounts.
 */
import { HostTensor, hostTensor } from '../../io/host-tensor';
import { resizeBilinearPil } from '../../io/pil-resample';

export type SizeHW = [number, number];

/** (h, w) after scaling the longest side to `targetLength`, rounded half up like `int(x + 0.5)`. */
export function getPreprocessShape(oldH: number, oldW: number, targetLength: number): SizeHW {
  const scale = (targetLength * 1.0) / Math.max(oldH, oldW);
  return [Math.trunc(oldH * scale + 0.5), Math.trunc(oldW * scale + 0.5)];
}

export class ResizeLongestSide {
  constructor(readonly targetLength: number) {
    if (!(Number.isInteger(targetLength) && targetLength > 0)) {
      throw new Error(`ResizeLongestSide: target length must be a positive integer, got ${targetLength}`);
    }
  }

  /** HWC uint8 image (1, 3 or 4 channels) → resized HWC uint8, with PIL BILINEAR (antialiased). */
  applyImage(image: HostTensor): HostTensor {
    if (image.dtype !== 'uint8' || image.shape.length !== 3) {
      throw new Error(`ResizeLongestSide.applyImage: expected an HWC uint8 image, got ${image.dtype} [${image.shape}]`);
    }
    const [h, w, c] = image.shape;
    const [nh, nw] = getPreprocessShape(h, w, this.targetLength);
    const data = resizeBilinearPil(image.data as Uint8Array, h, w, c, nh, nw);
    return hostTensor('uint8', [nh, nw, c], data);
  }

  /**
   * Coordinates (..., 2) as x, y in the original image → the resized frame. Computed in double precision,
   * as SamPredictor.predict does in numpy, then rounded to float32.
   */
  applyCoords(coords: Float32Array | number[], originalSize: SizeHW): Float32Array {
    if (coords.length % 2 !== 0) throw new Error(`ResizeLongestSide.applyCoords: ${coords.length} values are not (x, y) pairs`);
    const [oldH, oldW] = originalSize;
    const [newH, newW] = getPreprocessShape(oldH, oldW, this.targetLength);
    const out = new Float32Array(coords.length);
    for (let i = 0; i < coords.length; i += 2) {
      out[i] = coords[i] * (newW / oldW);
      out[i + 1] = coords[i + 1] * (newH / oldH);
    }
    return out;
  }

  /** Boxes (..., 4) as x0, y0, x1, y1: both corners transformed like points. */
  applyBoxes(boxes: Float32Array | number[], originalSize: SizeHW): Float32Array {
    if (boxes.length % 4 !== 0) throw new Error(`ResizeLongestSide.applyBoxes: ${boxes.length} values are not (x0, y0, x1, y1) boxes`);
    return this.applyCoords(boxes, originalSize);
  }
}
