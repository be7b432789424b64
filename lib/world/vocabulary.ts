/**
 * Every word the world's captions and attributes can take, in one JSON-able object: what a prompt
 * composer offers, what the benchmark scores against, and what the tokenizer must cover.
 */
import { CLASSES, CLASS_DEFS, ClassName } from './subjects';
import { COLOURS } from './palette';
import { PATTERNS, PATTERN_WORDS } from './patterns';
import { BACKGROUNDS, BACKGROUND_WORDS } from './backgrounds';
import { POSE_WORDS } from './pose';

export interface WorldVocabulary {
  classes: readonly ClassName[];
  colours: readonly string[];
  patterns: readonly string[];
  /** pattern → caption adjective ('' for plain) */
  patternWords: Readonly<Record<string, string>>;
  backgrounds: readonly string[];
  /** background kind → caption words */
  backgroundWords: Readonly<Record<string, string>>;
  poseWords: readonly string[];
  details: Readonly<Record<ClassName, readonly string[]>>;
  views: Readonly<Record<ClassName, readonly string[]>>;
}

export function worldVocabulary(): WorldVocabulary {
  const details = {} as Record<ClassName, readonly string[]>;
  const views = {} as Record<ClassName, readonly string[]>;
  for (const c of CLASSES) {
    details[c] = [...CLASS_DEFS[c].details];
    views[c] = [...CLASS_DEFS[c].views];
  }
  return {
    classes: [...CLASSES],
    colours: [...COLOURS],
    patterns: [...PATTERNS],
    patternWords: { ...PATTERN_WORDS },
    backgrounds: [...BACKGROUNDS],
    backgroundWords: { ...BACKGROUND_WORDS },
    poseWords: [...POSE_WORDS],
    details,
    views,
  };
}
