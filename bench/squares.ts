/** Synthetic DETEX subjects for the bench (as test/detex/tiny-models.ts): a red square on a different background each. */
import { hostTensor } from '../lib/io/host-tensor';
import type { TrainingItem } from '../lib/detex/data';

export function squares(n: number, size: number): TrainingItem[] {
  return Array.from({ length: n }, (_, i) => {
    const img = new Float32Array(size * size * 3);
    const mask = new Float32Array(size * size);
    const s = Math.max(4, Math.floor(size * 0.375));
    const x0 = Math.floor(size / 8) + ((i * 13) % Math.max(1, size - s - size / 8));
    const y0 = Math.floor(size / 6) + ((i * 7) % Math.max(1, size - s - size / 6));
    const bg = [0.2 + 0.2 * i, 0.5, 0.8 - 0.15 * i];
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const inside = x >= x0 && x < x0 + s && y >= y0 && y < y0 + s;
        mask[y * size + x] = inside ? 1 : 0;
        const c = inside ? [0.9, 0.1, 0.1] : bg;
        for (let k = 0; k < 3; k++) img[(y * size + x) * 3 + k] = c[k];
      }
    }
    return { image: hostTensor('float32', [size, size, 3], img), mask: hostTensor('float32', [size, size], mask) };
  });
}
