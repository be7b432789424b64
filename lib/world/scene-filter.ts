/**
 * A narrowed world: scenes drawn only from the identities and backgrounds a filter allows. It exists for
 * capacity tests of the pretrained models ("with class, colour and background fixed, does the UNet draw the
 * asked pattern?"), which tell a model that cannot draw an attribute from one that never learnt to pick it.
 *
 * Written as `class=ball,colour=blue,background=studio` (also `pattern=…`, `secondary=…`: the pattern's colour, or
 * none for plain); a key may repeat (`class=ball,class=cup`) and an
 * absent key allows every value.
 */
import { BACKGROUNDS, BackgroundKind, isBackground } from './backgrounds';
import { SubjectIdentity } from './catalogue';
import { COLOURS, ColourName, isColour } from './palette';
import { PATTERNS, PatternName, isPattern } from './patterns';
import { CLASSES, ClassName, isClass } from './subjects';

export interface SceneFilter {
  classes?: readonly ClassName[];
  colours?: readonly ColourName[];
  patterns?: readonly PatternName[];
  secondaries?: readonly (ColourName | 'none')[];
  backgrounds?: readonly BackgroundKind[];
}

const KEYS = ['class', 'colour', 'pattern', 'secondary', 'background'] as const;

/** Parses `key=value,…`; throws naming the bad key or value and the allowed ones. '' is the whole world. */
export function parseSceneFilter(spec: string): SceneFilter {
  const f: { classes?: ClassName[]; colours?: ColourName[]; patterns?: PatternName[]; secondaries?: (ColourName | 'none')[]; backgrounds?: BackgroundKind[] } = {};
  for (const part of spec.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq).trim();
    const value = eq < 0 ? '' : part.slice(eq + 1).trim();
    const bad = (known: readonly string[]): Error =>
      new Error(`world: scene filter "${spec}": ${key} "${value}" is not one of ${known.join(', ')}`);
    if (key === 'class') {
      if (!isClass(value)) throw bad(CLASSES);
      (f.classes ??= []).push(value);
    } else if (key === 'colour') {
      if (!isColour(value)) throw bad(COLOURS);
      (f.colours ??= []).push(value);
    } else if (key === 'pattern') {
      if (!isPattern(value)) throw bad(PATTERNS);
      (f.patterns ??= []).push(value);
    } else if (key === 'secondary') {
      if (!isColour(value) && value !== 'none') throw bad([...COLOURS, 'none']);
      (f.secondaries ??= []).push(value);
    } else if (key === 'background') {
      if (!isBackground(value)) throw bad(BACKGROUNDS);
      (f.backgrounds ??= []).push(value);
    } else {
      throw new Error(`world: scene filter "${spec}": "${part}" must be key=value with key one of ${KEYS.join(', ')}`);
    }
  }
  return f;
}

/** The filter written back in its canonical form (keys in a fixed order): names a data mix in metadata. */
export function sceneFilterSpec(f: SceneFilter | undefined): string {
  if (!f) return '';
  const parts: string[] = [];
  for (const c of f.classes ?? []) parts.push(`class=${c}`);
  for (const c of f.colours ?? []) parts.push(`colour=${c}`);
  for (const p of f.patterns ?? []) parts.push(`pattern=${p}`);
  for (const s of f.secondaries ?? []) parts.push(`secondary=${s}`);
  for (const b of f.backgrounds ?? []) parts.push(`background=${b}`);
  return parts.join(',');
}

/** Whether the filter allows the identity (no filter allows every one). */
export function filterAllows(f: SceneFilter | undefined, s: SubjectIdentity): boolean {
  return !f || ((!f.classes || f.classes.includes(s.cls)) && (!f.colours || f.colours.includes(s.colour)) &&
    (!f.patterns || f.patterns.includes(s.pattern)) && (!f.secondaries || f.secondaries.includes(s.secondary)));
}

/** The identities of `pool` the filter allows; throws when none is left (an empty world cannot be sampled). */
export function filterIdentities<T extends SubjectIdentity>(pool: readonly T[], f: SceneFilter | undefined, poolName: string): readonly T[] {
  if (!f) return pool;
  const kept = pool.filter((s) => filterAllows(f, s));
  if (kept.length === 0) throw new Error(`world: scene filter "${sceneFilterSpec(f)}" leaves no identity of the ${poolName} split`);
  return kept;
}
