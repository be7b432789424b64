/**
 * The editing prompts, in the world's caption language ("a photo of a {{V}} {{class}} in snow background"), a
 * fixed function of the subject and its training photos so every method sees the same ones:
 *   background  new backgrounds: the fixed order below, skipping the kinds among the training photos
 *   colour      a recolouring: "a photo of a green {{V}} {{class}} in … background" (a colour the subject does not have)
 *   pose        a pose/view the world's captions support: a view word for classes with views, else "tilted"
 * Only {{V}} and {{class}}: Custom Diffusion has no [P_i]/[B_i], and the paper's comparison prompts use [V] alone.
 * Each prompt says what the oracle must find: the background kind and the subject's body colour.
 */
import { BACKGROUND_WORDS, BackgroundKind, CLASS_DEFS, ColourName, SubjectIdentity } from '../world';

export type PromptKind = 'background' | 'colour' | 'pose';

export interface EditPrompt {
  /** stable id within a subject: 'bg-snow', 'colour-green', 'pose-tilted' */
  id: string;
  kind: PromptKind;
  template: string;
  /** what the oracle expects */
  background: BackgroundKind;
  colour: ColourName;
}

export const BACKGROUND_ORDER: readonly BackgroundKind[] = ['snow', 'brick', 'night', 'sand', 'water', 'grass', 'sky', 'wood', 'studio'];
const RECOLOURS: readonly ColourName[] = ['green', 'blue', 'red', 'purple', 'yellow', 'black'];

export interface PromptCounts {
  backgroundPrompts: number;
  colourPrompt: boolean;
  posePrompt: boolean;
}

export function editingPrompts(subject: SubjectIdentity, trainingBackgrounds: readonly BackgroundKind[], n: PromptCounts): EditPrompt[] {
  const seen = new Set(trainingBackgrounds);
  const fresh = BACKGROUND_ORDER.filter((b) => !seen.has(b));
  const pool = fresh.length ? fresh : [...BACKGROUND_ORDER];
  const bg = (k: number) => pool[k % pool.length];
  const words = (b: BackgroundKind) => BACKGROUND_WORDS[b];
  const out: EditPrompt[] = [];
  for (let k = 0; k < n.backgroundPrompts; k++) {
    const b = bg(k);
    out.push({ id: `bg-${b}`, kind: 'background', template: `a photo of a {{V}} {{class}} in ${words(b)} background`, background: b, colour: subject.colour });
  }
  if (n.colourPrompt) {
    const c = RECOLOURS.find((x) => x !== subject.colour && x !== subject.secondary)!;
    const b = bg(1);
    out.push({ id: `colour-${c}`, kind: 'colour', template: `a photo of a ${c} {{V}} {{class}} in ${words(b)} background`, background: b, colour: c });
  }
  if (n.posePrompt) {
    const def = CLASS_DEFS[subject.cls];
    const word = def.viewWords ? def.viewWords[def.views[def.views.length - 1]] : 'tilted';
    const b = bg(2);
    out.push({ id: `pose-${word.replace(/\s+/g, '-')}`, kind: 'pose', template: `a photo of a {{V}} {{class}} with ${word} pose in ${words(b)} background`, background: b, colour: subject.colour });
  }
  return out;
}
