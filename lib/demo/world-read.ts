/**
 * What the demo's images show, read by the model's world attribute classifier (`<model>/attribute_classifier/`,
 * shipped with detex-mini): per image the class, body colour, pattern and background it sees, checked against
 * what the prompt asked for — the subject's own identity for [V] rows, the named background or training photo i's
 * for [B_i] rows. So the report says, not only shows, whether [V] carried the subject and [B_i] its background.
 */
import * as fs from 'fs';
import * as path from 'path';
import { HostTensor } from '../io/host-tensor';
import { SubjectIdentity } from '../world';
import { WORLD_ATTRIBUTES, WorldAttribute, WorldAttributeClassifier } from '../metrics/world-attributes';
import { DemoExpectation } from './prompts';

export type Expected = Partial<Record<WorldAttribute, string>>;

export interface ImageRead {
  /** the classifier's label per attribute */
  seen: Record<WorldAttribute, string>;
  /** per expected attribute: did the image show it */
  ok: Partial<Record<WorldAttribute, boolean>>;
}

/** The labels a prompt asks for, given the subject and the training photos' backgrounds (in photo order). */
export function expectedLabels(e: DemoExpectation, subject: SubjectIdentity, photoBackgrounds: readonly string[]): Expected {
  const out: Expected = e.subject === 'own' ? { class: subject.cls, colour: subject.colour, pattern: subject.pattern } : { class: e.subject.class };
  const b = typeof e.background === 'string' ? e.background : photoBackgrounds[e.background.photo - 1];
  if (b !== undefined) out.background = b;
  return out;
}

export function readImages(classifier: WorldAttributeClassifier, images: readonly HostTensor[], expected: readonly Expected[]): ImageRead[] {
  if (images.length !== expected.length) throw new Error(`readImages: ${images.length} images for ${expected.length} expectations`);
  if (!images.length) return [];
  return classifier.predict(images).map((p, i) => {
    const seen = Object.fromEntries(WORLD_ATTRIBUTES.map((a) => [a, p[a].label])) as Record<WorldAttribute, string>;
    const ok: ImageRead['ok'] = {};
    for (const a of WORLD_ATTRIBUTES) if (expected[i][a] !== undefined) ok[a] = seen[a] === expected[i][a];
    return { seen, ok };
  });
}

/** Per attribute: images that showed it / images that asked for it. */
export type ReadTally = Partial<Record<WorldAttribute, [number, number]>>;

export function tally(reads: readonly ImageRead[]): ReadTally {
  const t: ReadTally = {};
  for (const r of reads) {
    for (const a of WORLD_ATTRIBUTES) {
      const ok = r.ok[a];
      if (ok === undefined) continue;
      const cur = t[a] ?? [0, 0];
      t[a] = [cur[0] + (ok ? 1 : 0), cur[1] + 1];
    }
  }
  return t;
}

export function formatTally(t: ReadTally): string {
  return WORLD_ATTRIBUTES.filter((a) => t[a]).map((a) => `${a} ${t[a]![0]}/${t[a]![1]}`).join(', ');
}

/** The model's world classifier, or undefined for a model without one (Stable Diffusion, detex-tiny). */
export function loadWorldClassifier(modelFolder: string): WorldAttributeClassifier | undefined {
  const dir = path.join(modelFolder, 'attribute_classifier');
  return fs.existsSync(dir) ? WorldAttributeClassifier.load(dir) : undefined;
}
