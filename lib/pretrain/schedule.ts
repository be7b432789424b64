/**
 * Learning-rate schedule for pretraining: linear warmup from 0, then cosine decay to `minRatio·lr` at
 * `totalSteps` (held there after). A pure function of the step so a resumed run uses the same rates.
 */
export interface LrSchedule {
  lr: number;
  warmupSteps: number;
  totalSteps: number;
  /** final lr as a fraction of `lr` (default 0.1) */
  minRatio?: number;
}

/** The rate for 1-based step `s` (the s-th update). */
export function learningRate(sch: LrSchedule, s: number): number {
  const minRatio = sch.minRatio ?? 0.1;
  if (sch.warmupSteps > 0 && s <= sch.warmupSteps) return (sch.lr * s) / sch.warmupSteps;
  const span = Math.max(1, sch.totalSteps - sch.warmupSteps);
  const p = Math.min(1, Math.max(0, (s - sch.warmupSteps) / span));
  return sch.lr * (minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * p)));
}
