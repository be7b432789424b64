/**
 * Subject identities and the fixed pretraining split.
 *
 * An identity is class + body colour + pattern + secondary (pattern) colour + detail variant. Its id
 * is those five words joined by '-', e.g. "cup-blue-dots-white-loop"; plain subjects have secondary
 * "none" (a secondary colour that is never drawn would make two ids look identical).
 *
 * THE SPLIT (documented, fixed; changing it changes what detex-mini was pretrained on):
 * - HELD_OUT lists 8 identities over all 7 classes. They are the subjects users personalise in the
 *   demo and the quality benchmark, so detex-mini must never have seen them.
 * - 'train' excludes every identity that shares class + colour + pattern with a held-out one (any
 *   secondary, any detail). So the short caption of a held-out subject ("a blue dotted cup") never
 *   occurs in pretraining: DETEX has to learn it from the user's photos, not recall it.
 */
import { CLASSES, CLASS_DEFS, ClassName, isClass } from './subjects';
import { COLOURS, ColourName, isColour } from './palette';
import { PATTERNS, PatternName, isPattern } from './patterns';

export interface SubjectIdentity {
  cls: ClassName;
  colour: ColourName;
  pattern: PatternName;
  /** pattern colour; 'none' exactly when pattern is 'plain' */
  secondary: ColourName | 'none';
  detail: string;
}

export type Split = 'train' | 'heldout';

export function subjectId(s: SubjectIdentity): string {
  return `${s.cls}-${s.colour}-${s.pattern}-${s.secondary}-${s.detail}`;
}

/** Parses and validates an id; throws naming the bad part and the allowed values. */
export function parseSubjectId(id: string): SubjectIdentity {
  const parts = id.split('-');
  if (parts.length !== 5) throw new Error(`world: subject id "${id}" must be class-colour-pattern-secondary-detail`);
  const [cls, colour, pattern, secondary, detail] = parts;
  if (!isClass(cls)) throw new Error(`world: subject id "${id}": unknown class "${cls}" (known: ${CLASSES.join(', ')})`);
  if (!isColour(colour)) throw new Error(`world: subject id "${id}": unknown colour "${colour}" (known: ${COLOURS.join(', ')})`);
  if (!isPattern(pattern)) throw new Error(`world: subject id "${id}": unknown pattern "${pattern}" (known: ${PATTERNS.join(', ')})`);
  const details = CLASS_DEFS[cls].details;
  if (!details.includes(detail)) throw new Error(`world: subject id "${id}": ${cls} detail must be one of ${details.join(', ')}, got "${detail}"`);
  if (pattern === 'plain') {
    if (secondary !== 'none') throw new Error(`world: subject id "${id}": a plain subject has secondary "none"`);
    return { cls, colour, pattern, secondary: 'none', detail };
  }
  if (!isColour(secondary) || secondary === colour) {
    throw new Error(`world: subject id "${id}": secondary must be a colour other than the body colour "${colour}", got "${secondary}"`);
  }
  return { cls, colour, pattern, secondary, detail };
}

/** Every identity, in a fixed order (class, colour, pattern, secondary, detail). */
export function allIdentities(): SubjectIdentity[] {
  const out: SubjectIdentity[] = [];
  for (const cls of CLASSES) {
    for (const colour of COLOURS) {
      for (const pattern of PATTERNS) {
        const secondaries: (ColourName | 'none')[] = pattern === 'plain' ? ['none'] : COLOURS.filter((c) => c !== colour);
        for (const secondary of secondaries) {
          for (const detail of CLASS_DEFS[cls].details) out.push({ cls, colour, pattern, secondary, detail });
        }
      }
    }
  }
  return out;
}

/** The held-out subjects (see the split above). Chosen to look distinct from each other at 64 px. */
export const HELD_OUT: readonly string[] = [
  'cup-blue-dots-white-loop',
  'ball-orange-stripes-white-seam',
  'blob-pink-plain-none-ears',
  'cube-yellow-checks-red-emblem',
  'bottle-green-stripes-white-cap',
  'star-purple-dots-yellow-five',
  'ring-white-plain-none-gem',
  'blob-brown-checks-orange-antenna',
];

export function heldOutSubjects(): SubjectIdentity[] {
  return HELD_OUT.map(parseSubjectId);
}

const heldOutTriples = new Set(HELD_OUT.map((id) => id.split('-').slice(0, 3).join('-')));

/** Which split an identity belongs to: 'heldout' for the listed ids, else 'train' unless it is masked out. */
export function splitOf(s: SubjectIdentity): Split | 'excluded' {
  if (HELD_OUT.includes(subjectId(s))) return 'heldout';
  return heldOutTriples.has(`${s.cls}-${s.colour}-${s.pattern}`) ? 'excluded' : 'train';
}

let trainCache: SubjectIdentity[] | null = null;

/** All pretraining identities (cached; do not mutate). */
export function trainIdentities(): readonly SubjectIdentity[] {
  if (!trainCache) trainCache = allIdentities().filter((s) => splitOf(s) === 'train');
  return trainCache;
}
