/**
 * The demo's prompt grid: what DETEX is for. [V] alone in new scenes, [P_i] to keep photo i's pose/view,
 * [B_i] to keep photo i's background, tokens of different photos combined, and [B_i] behind another class.
 * Written in the world's caption style ("a photo of a … in grass background"), the language detex-mini
 * was pretrained on.
 */
/**
 * The attribute word of the demo's concepts ({{attribute}}, and the trainer's "with [P_i] … " phrase): the world's
 * captions say "with <pose words> pose" for every class (lib/world/caption.ts), so "pose" is the word detex-mini
 * has seen there; the paper's "view" for objects never follows a pose phrase in pretraining.
 */
export const WORLD_ATTRIBUTE_WORD = 'pose';

/**
 * The demo's learning rate. The paper trains 600 steps at 1e-5; the demo's budget is 100 steps, so the lr is 10×
 * (as the quality benchmark does, docs/quality-benchmark.md): at 1e-5, 100 steps moved [V] by 2.5% of its norm on
 * detex-mini (measured), i.e. the subject token stayed its initialiser.
 */
export const DEMO_LEARNING_RATE = 1e-4;

export interface DemoPrompt {
  /** what the row demonstrates */
  group: 'new scene' | 'keep pose' | 'keep background' | 'combined' | 'background, other subject';
  template: string;
}

export function demoPrompts(photoCount: number, otherClass: string): DemoPrompt[] {
  const last = Math.max(1, photoCount);
  const second = Math.min(2, last);
  return [
    { group: 'new scene', template: 'a photo of a {{V}} {{class}} in snow background' },
    { group: 'new scene', template: 'a photo of a {{V}} {{class}} in brick wall background' },
    { group: 'new scene', template: 'a photo of a {{V}} {{class}} in night sky background' },
    { group: 'keep pose', template: 'a photo of a {{V}} {{class}} with {{P.1}} {{attribute}} in water background' },
    { group: 'keep background', template: `a photo of a {{V}} {{class}} in {{B.${second}}} background` },
    { group: 'combined', template: `a photo of a {{V}} {{class}} with {{P.1}} {{attribute}} in {{B.${last}}} background` },
    { group: 'background, other subject', template: `a photo of a ${otherClass} in {{B.1}} background` },
  ];
}
