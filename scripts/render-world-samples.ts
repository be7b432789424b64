/**
 * Renders a contact sheet of the procedural world, to look at with your own eyes:
 *   node dist/scripts/render-world-samples.js out.png [--size 64] [--seed 1] [--zoom 2] [--heldout] [--masks]
 * Rows are the classes, columns the backgrounds; each cell is a random train identity of that class
 * (or, with --heldout, the held-out subjects' photo sets, one subject per row). --masks shows the
 * mask as a red tint over each cell instead of the plain image.
 */
import { Rng } from '../lib/random';
import { writePng } from '../lib/io/image';
import { HostTensor } from '../lib/io/host-tensor';
import { BACKGROUNDS, CLASSES, HELD_OUT, RenderedScene, renderScene, samplePose, subjectPhotos, trainIdentities } from '../lib/world';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

async function main(): Promise<void> {
  const out = process.argv[2];
  if (!out || out.startsWith('--')) throw new Error('usage: render-world-samples <out.png> [--size 64] [--seed 1] [--zoom 2] [--heldout] [--masks]');
  const size = arg('--size', 64);
  const seed = arg('--seed', 1);
  const zoom = arg('--zoom', 2);
  const masks = process.argv.includes('--masks');
  const rng = new Rng(seed);
  const rows: RenderedScene[][] = [];
  if (process.argv.includes('--heldout')) {
    for (const id of HELD_OUT) rows.push(subjectPhotos(id, BACKGROUNDS.length, seed, { size }));
  } else {
    const pool = trainIdentities();
    for (const cls of CLASSES) {
      const mine = pool.filter((s) => s.cls === cls);
      rows.push(BACKGROUNDS.map((background) => {
        const subject = mine[rng.int(mine.length)];
        return renderScene({ subject, pose: samplePose(cls, rng), background }, { size, seed: rng.int(1e9) });
      }));
    }
  }
  const cols = Math.max(...rows.map((r) => r.length));
  const gap = 2;
  const cell = size * zoom + gap;
  const W = cols * cell + gap;
  const Hh = rows.length * cell + gap;
  const sheet = new Uint8Array(W * Hh * 3).fill(40);
  rows.forEach((row, ri) => row.forEach((scene, ci) => {
    const img = scene.image.data as Uint8Array;
    const m = scene.mask.data as Uint8Array;
    for (let y = 0; y < size * zoom; y++) {
      for (let x = 0; x < size * zoom; x++) {
        const p = Math.floor(y / zoom) * size + Math.floor(x / zoom);
        const o = ((gap + ri * cell + y) * W + gap + ci * cell + x) * 3;
        for (let k = 0; k < 3; k++) sheet[o + k] = img[p * 3 + k];
        if (masks && m[p]) sheet[o] = 255;
      }
    }
    if (ci === 0) console.log(`row ${ri}: ${row.map((s) => s.caption).join(' | ')}`);
  }));
  const t: HostTensor = { dtype: 'uint8', shape: [Hh, W, 3], data: sheet };
  await writePng(out, t);
  console.log(`wrote ${out} (${cols}×${rows.length} cells of ${size}px)`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
