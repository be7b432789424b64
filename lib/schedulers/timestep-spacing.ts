/**
 * Inference timesteps for `setTimesteps(n)`, following diffusers' three `timestep_spacing` modes (Table 2 of
 * Lin et al. 2023). They are computed with numpy in the reference, so the float arithmetic and numpy's
 * round-half-to-even are reproduced here (e.g. `trailing` with 1000/3 lands on .5 values).
 */

/** numpy.round: ties go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round sends ties up; move them to the even neighbour.
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** np.arange(start, stop, step) for floats: length ceil((stop−start)/step), values start + i·(second − start). */
function npArange(start: number, stop: number, step: number): number[] {
  const n = Math.max(0, Math.ceil((stop - start) / step));
  if (n === 0) return [];
  const delta = start + step - start; // numpy fills from the first two values
  const out = [start];
  if (n > 1) out.push(start + step);
  for (let i = 2; i < n; i++) out.push(start + i * delta);
  return out;
}

/** np.linspace(start, stop, n) (endpoint included): i·step + start, last value exactly stop. */
function npLinspace(start: number, stop: number, n: number): number[] {
  if (n === 1) return [start];
  const step = (stop - start) / (n - 1);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(i * step + start);
  out[n - 1] = stop;
  return out;
}

export type TimestepSpacing = 'leading' | 'trailing' | 'linspace';

/** Descending integer timesteps, as diffusers' DDIMScheduler.set_timesteps (v0.27.2) makes them. */
export function inferenceTimesteps(
  spacing: string,
  numTrainTimesteps: number,
  numInferenceSteps: number,
  stepsOffset: number,
): number[] {
  const T = numTrainTimesteps;
  const n = numInferenceSteps;
  if (spacing === 'linspace') {
    return npLinspace(0, T - 1, n).map(roundHalfEven).reverse();
  }
  if (spacing === 'leading') {
    const ratio = Math.floor(T / n);
    const ts: number[] = [];
    for (let i = 0; i < n; i++) ts.push(i * ratio + stepsOffset);
    return ts.reverse();
  }
  if (spacing === 'trailing') {
    const ratio = T / n;
    return npArange(T, 0, -ratio).map((v) => roundHalfEven(v) - 1);
  }
  throw new Error(
    `scheduler config: timestep_spacing "${spacing}" is not supported (expected 'linspace', 'leading' or 'trailing')`,
  );
}
