/**
 * The demo's prompt grid: what DETEX is for. [V] alone in new scenes, [P_i] to keep photo i's pose/view,
 * [B_i] to keep photo i's background, tokens of different photos combined, and [B_i] behind another class.
 * Written in the world's caption style ("a photo of a … in grass background"), the language detex-mini
 * was pretrained on.
 */
import { BackgroundKind } from '../world';

/**
 * The attribute word of the demo's concepts ({{attribute}}, and the trainer's "with [P_i] … " phrase): the world's
 * captions say "with <pose words> pose" for every class (lib/world/caption.ts), so "pose" is the word detex-mini
 * has seen there; the paper's "view" for objects never follows a pose phrase in pretraining.
 */
export const WORLD_ATTRIBUTE_WORD = 'pose';

/**
 * The demo's training when neither its flags nor the model's `detex_config.json` say otherwise (detex-mini's file
 * does; detex-tiny and user folders have none). The paper trains 600 steps at 1e-5 with 200 class images; the demo's
 * budget is 100 steps, so the lr is 10× (at 1e-5, 100 steps moved [V] by 2.5% of its norm on detex-mini).
 */
export const DEMO_TRAINING = Object.freeze({ steps: 100, batchSize: 4, learningRate: 1e-4, numClassImages: 8, attributeWord: WORLD_ATTRIBUTE_WORD });

/** What a demo image should show: the subject's own class, colour and pattern, or another class; a named world
 * background, or the background of training photo `photo` (1-based). */
export interface DemoExpectation {
  subject: 'own' | { class: string };
  background: BackgroundKind | { photo: number };
}

export interface DemoPrompt {
  /** what the row demonstrates */
  group: 'new scene' | 'keep pose' | 'keep background' | 'combined' | 'background, other subject';
  template: string;
  expect: DemoExpectation;
}

export function demoPrompts(photoCount: number, otherClass: string): DemoPrompt[] {
  const last = Math.max(1, photoCount);
  const second = Math.min(2, last);
  return [
    { group: 'new scene', template: 'a photo of a {{V}} {{class}} in snow background', expect: { subject: 'own', background: 'snow' } },
    { group: 'new scene', template: 'a photo of a {{V}} {{class}} in brick wall background', expect: { subject: 'own', background: 'brick' } },
    { group: 'new scene', template: 'a photo of a {{V}} {{class}} in night sky background', expect: { subject: 'own', background: 'night' } },
    { group: 'keep pose', template: 'a photo of a {{V}} {{class}} with {{P.1}} {{attribute}} in water background', expect: { subject: 'own', background: 'water' } },
    { group: 'keep background', template: `a photo of a {{V}} {{class}} in {{B.${second}}} background`, expect: { subject: 'own', background: { photo: second } } },
    { group: 'combined', template: `a photo of a {{V}} {{class}} with {{P.1}} {{attribute}} in {{B.${last}}} background`, expect: { subject: 'own', background: { photo: last } } },
    { group: 'background, other subject', template: `a photo of a ${otherClass} in {{B.1}} background`, expect: { subject: { class: otherClass }, background: { photo: 1 } } },
  ];
}
