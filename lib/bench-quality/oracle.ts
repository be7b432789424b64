/**
 * The world oracle applied to a generated image (lib/world/oracle.ts does the reading):
 *   1. the subject's mask: SAM on the generated image, prompted with one point at the image centre (the world
 *      places its subjects around the centre); a mask covering < 1 % or > 90 % of the image counts as
 *      "no subject found";
 *   2. background: `estimateBackground(image, mask)` (without a found subject: the border frame) — correct when
 *      its kind is the one the prompt asked for;
 *   3. colour: `estimateColour(image, mask)` — correct when the body colour is the one expected (the subject's
 *      own, or the prompt's new colour); no subject found = wrong.
 * Scores: `bg-acc`, `colour-acc` (fractions of images), `bg-prob` (the oracle's probability of the asked-for kind).
 */
import { BackgroundKind, ColourName, estimateBackground, estimateColour } from '../world';
import { Image, Mask } from '../engine/types';

export const MIN_AREA = 0.01;
export const MAX_AREA = 0.9;

export interface OracleExpectation {
  background: BackgroundKind;
  colour: ColourName;
}

export interface OracleResult {
  backgroundKind: BackgroundKind;
  backgroundOk: boolean;
  /** the oracle's probability of the asked-for background */
  backgroundProb: number;
  /** body colour read inside the mask; null when no subject was found */
  colour: ColourName | null;
  colourOk: boolean;
  subjectFound: boolean;
  /** mask area as a fraction of the image */
  maskArea: number;
}

export type Segmenter = (image: Image, point: [number, number]) => Promise<Mask>;

/** The pure part: judge one image given its subject mask. */
export function judge(image: Image, mask: Mask, expect: OracleExpectation): OracleResult {
  const [h, w] = image.shape;
  let area = 0;
  for (let i = 0; i < h * w; i++) if (mask.data[i]) area++;
  const maskArea = area / (h * w);
  const subjectFound = maskArea >= MIN_AREA && maskArea <= MAX_AREA;
  const bg = estimateBackground(image, subjectFound ? mask : undefined);
  const colour = subjectFound ? estimateColour(image, mask).colour : null;
  return {
    backgroundKind: bg.kind,
    backgroundOk: bg.kind === expect.background,
    backgroundProb: bg.probabilities[expect.background],
    colour,
    colourOk: colour === expect.colour,
    subjectFound,
    maskArea,
  };
}

/** SAM at the centre, then judge. */
export async function oracle(image: Image, expect: OracleExpectation, segment: Segmenter): Promise<OracleResult> {
  const [h, w] = image.shape;
  const mask = await segment(image, [w / 2, h / 2]);
  return judge(image, mask, expect);
}
