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
import { SubjectIdentity, heldOutSubjects, subjectId, trainIdentities } from './catalogue';
import { BACKGROUNDS } from './backgrounds';
import { samplePose } from './pose';
import { RandomSceneOptions, RenderedScene, randomScene, renderScene } from './render';
import { filterIdentities } from './scene-filter';

/** Items per set: one per pattern. */
export const PATTERN_SET_SIZE = PATTERNS.length;

/**
 * A set of PATTERN_SET_SIZE scenes in PATTERNS' order. A variant outside the split or the filter (it would
 * share class + colour + pattern with a held-out subject, or the filter drops its pattern or pattern colour)
 * is replaced by an independent scene, so a set never shows what pretraining must not see.
 */
export function patternSetScenes(rng: Rng, opts: RandomSceneOptions = {}): RenderedScene[] {
  const split = opts.split ?? 'train';
  const pool = filterIdentities(split === 'heldout' ? heldOutSubjects() : trainIdentities(), opts.only, split);
  const allowed = new Set(pool.map(subjectId));
  const kinds = BACKGROUNDS.filter((k) => !opts.only?.backgrounds || opts.only.backgrounds.includes(k));
  if (kinds.length === 0) throw new Error('world: patternSetScenes needs at least one background');
  const base = pool[rng.int(pool.length)];
  const background = kinds[rng.int(kinds.length)];
  const pose = samplePose(base.cls, rng, undefined, opts.closeUp);
  const seed = rng.int(0x7fffffff);
  // a plain base still gives its patterned siblings one pattern colour, drawn like the catalogue's
  const others = COLOURS.filter((c) => c !== base.colour);
  const secondary: ColourName = base.secondary === 'none' ? others[rng.int(others.length)] : base.secondary;
  const { split: _split, closeUp: _closeUp, only: _only, ...render } = opts;
  return PATTERNS.map((pattern) => {
    const subject: SubjectIdentity = { ...base, pattern, secondary: pattern === 'plain' ? 'none' : secondary };
    if (!allowed.has(subjectId(subject))) return randomScene(rng.fork(`fill:${pattern}`), opts);
    return renderScene({ subject, pose, background }, { ...render, seed });
  });
}
