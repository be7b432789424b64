/** `detex attention`: what the tokens attend to — one panel per token over the generated image (lib/engine/attention-maps). */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { DetexSession, attentionMaps } from '../engine';

export const usage =
  'attention --concept <file> [--model <sd-folder>] [--prompt "a photo of a {{V}} {{class}} with {{P.1}} {{attribute}} in {{B.1}} background"] ' +
  '[--tokens V,P.1,B.1 (default: the prompt\'s pseudo-words)] [--downscale 2] [--steps 50] [--guidance 6] [--seed 0] [--panel 128] --out maps.png';

export async function attentionCommand(argv: string[]): Promise<number> {
  const { values: a } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' }, concept: { type: 'string' }, prompt: { type: 'string' }, tokens: { type: 'string' }, downscale: { type: 'string' },
      steps: { type: 'string' }, guidance: { type: 'string' }, seed: { type: 'string' }, panel: { type: 'string' }, out: { type: 'string' },
    },
  });
  if (!a.out) {
    console.error(`detex attention: --out is required\nusage: detex ${usage}`);
    return 2;
  }
  if (!a.prompt && !a.concept) {
    console.error(`detex attention: give --concept (and/or --prompt)\nusage: detex ${usage}`);
    return 2;
  }
  const session = await DetexSession.open(a.model);
  try {
    const r = await attentionMaps(session, {
      prompt: a.prompt ?? 'a photo of a {{V}} {{class}} with {{P.1}} {{attribute}} in {{B.1}} background',
      conceptPath: a.concept, tokens: a.tokens ? a.tokens.split(',').map((x) => x.trim()).filter(Boolean) : undefined,
      downscale: a.downscale ? Number(a.downscale) : undefined, steps: a.steps ? Number(a.steps) : undefined,
      guidance: a.guidance ? Number(a.guidance) : undefined, seed: a.seed ? Number(a.seed) : undefined, panelSize: a.panel ? Number(a.panel) : undefined,
    });
    fs.mkdirSync(path.dirname(path.resolve(a.out)), { recursive: true });
    fs.writeFileSync(a.out, r.png);
    console.log(`${a.out}  "${r.prompt}"`);
    console.log(`  layers at ${r.resolution[0]}×${r.resolution[1]}: ${r.layers.join(', ')} (${r.passes} maps averaged)`);
    console.log(`  panels, left to right: ${r.tokens.map((t) => `${t.label}=${t.token} (max ${t.max.toFixed(3)})`).join(', ')}`);
    return 0;
  } finally {
    await session.dispose();
  }
}
