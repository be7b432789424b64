/**
 * Pattern sets: one scene rendered under each of the four patterns — the same class, body colour, detail,
 * pattern colour, pose, background and texture seed, so the four images differ only on the subject's
 * surface, where the secondary colour shows.
 *
 * Why: in random batches the pattern's share of the loss is small beside everything else that varies
 * (class, colour, pose, background), and fourteen sessions of whole-world training left the pattern words
 * unused. Trained under one shared noise draw (lib/pretrain/pattern-sets.ts), a set's four items differ only
 * by the pattern word and the pattern it draws, so the part of the gradient that reads the word is measured
 * against the same image four times instead of against three other scenes.
 */
import { Rng } from '../random';
import { COLOURS, ColourName } from './palette';
import { PATTERNS } from './patterns';
import { SubjectIdentity, splitOf } from './catalogue';
import { filterAllows } from './scene-filter';
import { RandomSceneOptions, RenderedScene, drawScene, randomScene, renderScene } from './render';

/** Items per set: one per pattern. */
export const PATTERN_SET_SIZE = PATTERNS.length;

export interface PatternSet {
  /** PATTERN_SET_SIZE scenes in PATTERNS' order */
  scenes: RenderedScene[];
  /**
   * uint8 [H·W] per scene, 1 where the pattern decides the pixel: where a patterned scene differs from the same
   * scene plain, and for the plain scene where any of its patterned siblings differs from it; all 0 for a fill.
   */
  regions: Uint8Array[];
}

/** Pixels where two uint8 RGB renders of one size differ. */
function differing(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length / 3);
  for (let p = 0; p < out.length; p++) out[p] = a[3 * p] !== b[3 * p] || a[3 * p + 1] !== b[3 * p + 1] || a[3 * p + 2] !== b[3 * p + 2] ? 1 : 0;
  return out;
}

/**
 * A set of PATTERN_SET_SIZE scenes and where each one's pattern shows. A variant outside the split or the filter
 * (it would share class + colour + pattern with a held-out subject, or the filter drops its pattern or pattern
 * colour) is replaced by an independent scene, so a set never shows what pretraining must not see.
 */
export function patternSet(rng: Rng, opts: RandomSceneOptions = {}): PatternSet {
  const { spec, render } = drawScene(rng, opts);
  // what drawScene's pool holds, asked of one identity (building the pool's id set cost ~6k strings per set)
  const allowed = (s: SubjectIdentity): boolean => splitOf(s) === (opts.split ?? 'train') && filterAllows(opts.only, s);
  const base = spec.subject;
  // a plain base still gives its patterned siblings one pattern colour, drawn like the catalogue's
  const others = COLOURS.filter((c) => c !== base.colour);
  const secondary: ColourName = base.secondary === 'none' ? others[rng.int(others.length)] : base.secondary;
  const variant = (pattern: (typeof PATTERNS)[number]): SubjectIdentity => ({ ...base, pattern, secondary: pattern === 'plain' ? 'none' : secondary });
  const draw = (subject: SubjectIdentity): RenderedScene => renderScene({ ...spec, subject }, render);
  const variants = PATTERNS.map(variant);
  const kept = variants.map(allowed);
  const rendered = variants.map((v, i) => (kept[i] ? draw(v) : undefined));
  // the plain render is the reference even where plain itself is not allowed in the set
  const plain = rendered[0] ?? draw(variants[0]);
  const pixels = plain.mask.data.length;
  const regions = rendered.map((r, i) => (r && i > 0 ? differing(plain.image.data as Uint8Array, r.image.data as Uint8Array) : new Uint8Array(pixels)));
  if (kept[0]) for (const r of regions.slice(1)) for (let p = 0; p < pixels; p++) regions[0][p] |= r[p];
  const scenes = rendered.map((r, i) => r ?? randomScene(rng.fork(`fill:${PATTERNS[i]}`), opts));
  return { scenes, regions };
}

/** The scenes of `patternSet`. */
export function patternSetScenes(rng: Rng, opts: RandomSceneOptions = {}): RenderedScene[] {
  return patternSet(rng, opts).scenes;
}
