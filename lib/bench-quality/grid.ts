/** Image grids: rows × columns of equal-size RGB images on white, with a gap; missing cells stay white. */
import { HostTensor, hostTensor } from '../io/host-tensor';

export function imageGrid(rows: ReadonlyArray<ReadonlyArray<HostTensor | undefined>>, gap = 2): HostTensor {
  const first = rows.flat().find((x): x is HostTensor => !!x);
  if (!first) throw new Error('imageGrid: no images');
  const [h, w] = first.shape;
  const nr = rows.length;
  const nc = Math.max(...rows.map((r) => r.length));
  const H = nr * h + (nr - 1) * gap;
  const W = nc * w + (nc - 1) * gap;
  const out = new Uint8Array(H * W * 3).fill(255);
  rows.forEach((row, r) =>
    row.forEach((img, c) => {
      if (!img) return;
      if (img.shape[0] !== h || img.shape[1] !== w) throw new Error(`imageGrid: image [${img.shape}] in a grid of ${h}×${w}`);
      const y0 = r * (h + gap);
      const x0 = c * (w + gap);
      for (let y = 0; y < h; y++) out.set((img.data as Uint8Array).subarray(y * w * 3, (y + 1) * w * 3), 3 * ((y0 + y) * W + x0));
    }),
  );
  return hostTensor('uint8', [H, W, 3], out);
}
