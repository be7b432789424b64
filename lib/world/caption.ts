/**
 * Captions in the three forms DETEX needs:
 *   full:  "a photo of a red striped ball with tilted pose in grass background" (pretraining text;
 *          the pose and background phrases are where DETEX's [P_i] and [B_i] tokens go)
 *   short: "a red striped ball"          (the subject phrase, where [V] goes)
 *   class: "a ball"                      (the class prior)
 */
import { SubjectIdentity } from './catalogue';
import { PATTERN_WORDS } from './patterns';
import { BACKGROUND_WORDS, BackgroundKind } from './backgrounds';

/** "a" or "an" by the next word's first letter (vowel sound rule is enough for our vocabulary). */
export function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}

export function subjectPhrase(s: SubjectIdentity): string {
  const words = [s.colour, PATTERN_WORDS[s.pattern], s.cls].filter((w) => w.length > 0);
  return words.join(' ');
}

export function shortCaption(s: SubjectIdentity): string {
  const p = subjectPhrase(s);
  return `${article(p)} ${p}`;
}

export function classCaption(s: SubjectIdentity): string {
  return `${article(s.cls)} ${s.cls}`;
}

export function fullCaption(s: SubjectIdentity, poseWord: string, background: BackgroundKind): string {
  return `a photo of ${shortCaption(s)} with ${poseWord} pose in ${BACKGROUND_WORDS[background]} background`;
}
