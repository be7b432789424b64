/**
 * Per-photo pose/view: what changes between two photos of the same subject (DETEX's [P_i]).
 * Rotation in degrees (clockwise on screen), scale = half-size of the subject's local frame as a
 * fraction of the image side, (x, y) = centre in normalised image coordinates, aspect = width/height
 * squash, view = one of the class's view variants.
 */
import { Rng } from '../random';
import { CLASS_DEFS, ClassName } from './subjects';

export interface Pose {
  rotation: number;
  scale: number;
  x: number;
  y: number;
  aspect: number;
  view: string;
}

export const POSE_LIMITS = { maxTilt: 35, uprightTilt: 10, minScale: 0.2, maxScale: 0.36, minAspect: 0.85, maxAspect: 1.18 } as const;

/** Scales above the world's range, still inside the frame: the close-ups pretraining may mix in (unet.js --close-ups). */
export const CLOSE_UP_SCALE = { min: POSE_LIMITS.maxScale, max: 0.46 } as const;

/**
 * Largest scale at which the class, at any aspect, reaches no further than the frame's half-width from the centre.
 * samplePose places a close-up so that it stays within that reach.
 */
export function maxFramedScale(cls: ClassName): number {
  return 0.5 / (CLASS_DEFS[cls].extent * Math.sqrt(POSE_LIMITS.maxAspect));
}

/** All pose words the captions and the oracle may use. */
export const POSE_WORDS: readonly string[] = [
  'upright', 'tilted', 'small', 'medium', 'large', 'left', 'centre', 'right',
  ...new Set(Object.values(CLASS_DEFS).flatMap((d) => (d.viewWords ? Object.values(d.viewWords) : []))),
];

/**
 * Samples a pose. Half the photos are upright (|tilt| ≤ 8°) and half clearly tilted (15–35°), so
 * the words "upright"/"tilted" describe the image unambiguously. The subject stays inside the frame.
 * `closeUp` draws the scale from CLOSE_UP_SCALE instead (same number of draws, so the rest of the pose
 * and everything drawn after it keep their values).
 */
export function samplePose(cls: ClassName, rng: Rng, view?: string, closeUp = false): Pose {
  const def = CLASS_DEFS[cls];
  const upright = rng.nextDouble() < 0.5;
  const mag = upright ? rng.nextDouble() * 8 : 15 + rng.nextDouble() * (POSE_LIMITS.maxTilt - 15);
  const rotation = (rng.nextDouble() < 0.5 ? -1 : 1) * mag;
  const [lo, hi] = closeUp
    ? [CLOSE_UP_SCALE.min, Math.min(CLOSE_UP_SCALE.max, maxFramedScale(cls))]
    : [POSE_LIMITS.minScale, POSE_LIMITS.maxScale];
  const scale = lo + rng.nextDouble() * (hi - lo);
  const aspect = POSE_LIMITS.minAspect + rng.nextDouble() * (POSE_LIMITS.maxAspect - POSE_LIMITS.minAspect);
  const reach = def.extent * scale * Math.sqrt(Math.max(aspect, 1 / aspect));
  // the world's range affords reaching 8 % past the extent; a close-up does not (it was cut by the frame)
  const room = Math.max(0, 0.5 - reach * (closeUp ? 1 : 0.92));
  const x = 0.5 + (rng.nextDouble() * 2 - 1) * room;
  const y = 0.5 + (rng.nextDouble() * 2 - 1) * room;
  const v = view ?? def.views[rng.int(def.views.length)];
  if (!def.views.includes(v)) throw new Error(`world: ${cls} view must be one of ${def.views.join(', ')}, got "${v}"`);
  return { rotation, scale, x, y, aspect, view: v };
}

/** Words describing a pose: [primary, ...others]. The primary is the view word when the class has
 *  views (it is the most visible change), else the tilt word. */
export function poseWords(cls: ClassName, pose: Pose): string[] {
  const def = CLASS_DEFS[cls];
  const tilt = Math.abs(pose.rotation) <= POSE_LIMITS.uprightTilt ? 'upright' : 'tilted';
  const size = pose.scale < 0.25 ? 'small' : pose.scale > 0.31 ? 'large' : 'medium';
  const place = pose.x < 0.44 ? 'left' : pose.x > 0.56 ? 'right' : 'centre';
  const view = def.viewWords ? def.viewWords[pose.view] : undefined;
  // a bottle lying down is not "upright" whatever its small tilt
  const words = view ? (pose.view === 'lying' ? [view] : [view, tilt]) : [tilt];
  return [...words, size, place];
}
