/** `detex eval`: CLIP-T, CLIP-I, DINO-I and (FG) scores of generated images against a subject's reference images. */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { decodeImage } from '../io/image';
import { HostTensor } from '../io/host-tensor';
import { DetexSession, evaluate, METRICS, MetricName, defaultMetrics, plainPrompt } from '../engine';

export const usage =
  'eval --images <folder|a.png,…> [--references <folder|…>] [--masks <folder|…>] [--prompt "a {{V}} dog on the beach"] ' +
  '[--metrics clip-t,clip-i,clip-i-fg,dino-i,dino-i-fg] [--model <sd-folder>] [--clip <full CLIP folder>] [--dino <DINO ViT folder>] [--json scores.json]';

function listImages(spec: string): string[] {
  if (fs.existsSync(spec) && fs.statSync(spec).isDirectory()) {
    return fs.readdirSync(spec).filter((f) => /\.(png|jpe?g|webp)$/i.test(f)).sort().map((f) => path.join(spec, f));
  }
  return spec.split(',').filter(Boolean);
}

async function readImages(spec: string): Promise<HostTensor[]> {
  const files = listImages(spec);
  if (!files.length) throw new Error(`detex eval: no images in ${spec}`);
  return Promise.all(files.map(async (f) => (await decodeImage(f)).rgb));
}

/** A mask file: its alpha when it has one, else its first channel; > 127 = subject. */
async function readMasks(spec: string): Promise<HostTensor[]> {
  return Promise.all(
    listImages(spec).map(async (f) => {
      const d = await decodeImage(f);
      const n = d.width * d.height;
      const src = d.alpha ? d.alpha.data : Uint8Array.from({ length: n }, (_, i) => d.rgb.data[3 * i] as number);
      return { dtype: 'uint8' as const, shape: [d.height, d.width], data: Uint8Array.from(src, (v) => (v > 127 ? 1 : 0)) };
    }),
  );
}

export function formatTable(scores: Partial<Record<MetricName, number>>): string {
  const rows = METRICS.filter((k) => scores[k] !== undefined).map((k) => [k.toUpperCase().replace('-FG', '(FG)'), scores[k]!.toFixed(4)]);
  const w = Math.max(6, ...rows.map((r) => r[0].length));
  return [`${'metric'.padEnd(w)}  score`, `${'-'.repeat(w)}  ------`, ...rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`)].join('\n');
}

export async function evalCommand(argv: string[]): Promise<number> {
  const { values: a } = parseArgs({
    args: argv,
    options: {
      images: { type: 'string' }, references: { type: 'string' }, masks: { type: 'string' }, prompt: { type: 'string' },
      metrics: { type: 'string' }, model: { type: 'string' }, clip: { type: 'string' }, dino: { type: 'string' }, json: { type: 'string' },
    },
  });
  if (!a.images) {
    console.error(`detex eval: --images is required\nusage: detex ${usage}`);
    return 2;
  }
  const images = await readImages(a.images);
  const references = a.references ? await readImages(a.references) : undefined;
  const referenceMasks = a.masks ? await readMasks(a.masks) : undefined;
  const req = { images, references, referenceMasks, prompt: a.prompt };
  const metrics = (a.metrics ? a.metrics.split(',').map((s) => s.trim()) : defaultMetrics(req)) as MetricName[];
  for (const k of metrics) {
    if (!METRICS.includes(k)) {
      console.error(`detex eval: unknown metric "${k}" (known: ${METRICS.join(', ')})`);
      return 2;
    }
  }
  if (!metrics.length) {
    console.error('detex eval: nothing to score: give --references (CLIP-I, DINO-I), --masks (the FG variants) and/or --prompt (CLIP-T)');
    return 2;
  }
  const s = await DetexSession.open(a.model, { clipDir: a.clip, dinoDir: a.dino, warn: (m) => console.warn(m) });
  try {
    const scores = await evaluate(s, { ...req, metrics });
    console.log(`${images.length} generated image(s)${references ? `, ${references.length} reference(s)` : ''}${a.prompt !== undefined ? `, CLIP-T prompt "${plainPrompt(a.prompt)}"` : ''}`);
    console.log(formatTable(scores));
    if (a.json) {
      fs.writeFileSync(a.json, `${JSON.stringify({ scores, images: listImages(a.images), references: a.references ? listImages(a.references) : [], prompt: a.prompt, plainPrompt: a.prompt === undefined ? undefined : plainPrompt(a.prompt), model: s.folder, clip: a.clip, dino: a.dino }, null, 2)}\n`);
      console.log(`scores written to ${a.json}`);
    }
    return 0;
  } finally {
    await s.dispose();
  }
}
