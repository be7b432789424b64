import { HostTensor, hostTensor } from '../../lib/io/host-tensor';

/** A red disc (the subject, offset by k) on a blue-green background, and its mask. */
export function disc(k: number, size = 64): { image: HostTensor; mask: HostTensor } {
  const rgb = new Uint8Array(size * size * 3);
  const m = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      const inside = (x - size / 2 - k * 4) ** 2 + (y - size / 2) ** 2 < (size * size) / 14;
      rgb.set(inside ? [220, 40, 40] : [30, 120 + 40 * k, 200], 3 * i);
      m[i] = inside ? 1 : 0;
    }
  }
  return { image: hostTensor('uint8', [size, size, 3], rgb), mask: hostTensor('uint8', [size, size], m) };
}
