/**
 * The demo's prompt grid: what DETEX is for. [V] alone in new scenes, [P_i] to keep photo i's pose/view,
 * [B_i] to keep photo i's background, tokens of different photos combined, and [B_i] behind another class.
 * Written in the world's caption style ("a photo of a … in grass background"), the language detex-mini
 * was pretrained on.
 */
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
