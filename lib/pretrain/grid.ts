/**
 * Contact sheets and image quality numbers for looking at pretraining progress (the file viewer shows PNGs).
 */
import { HostTensor, hostTensor } from '../io/host-tensor';

/** Rows of NHWC float images in [−1, 1] (each a [B,H,W,3] block, same B/H/W) → one uint8 [rows·H, B·W, 3] sheet. */
export function imageGrid(rows: Array<Float32Array | ArrayLike<number>>, b: number, h: number, w: number): HostTensor {
  const out = new Uint8Array(rows.length * h * b * w * 3);
  const W = b * w;
  rows.forEach((data, r) => {
    for (let i = 0; i < b; i++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          for (let c = 0; c < 3; c++) {
            const v = data[((i * h + y) * w + x) * 3 + c];
            const u = Math.min(1, Math.max(0, v / 2 + 0.5));
            out[(((r * h + y) * W) + i * w + x) * 3 + c] = Math.floor(u * 255 + 0.5);
          }
        }
      }
    }
  });
  return hostTensor('uint8', [rows.length * h, W, 3], out);
}

/** Mean over images of PSNR (dB) between two [B,H,W,C] blocks in [−1, 1], both clamped to that range and compared on [0, 1]. */
export function meanPsnr(a: ArrayLike<number>, b: ArrayLike<number>, batch: number): number {
  const per = a.length / batch;
  let sum = 0;
  for (let i = 0; i < batch; i++) {
    let se = 0;
    for (let j = i * per; j < (i + 1) * per; j++) {
      const d = (Math.min(1, Math.max(-1, a[j])) - Math.min(1, Math.max(-1, b[j]))) / 2;
      se += d * d;
    }
    sum += 10 * Math.log10(1 / Math.max(se / per, 1e-12));
  }
  return sum / batch;
}
