/** The fixtures' pass rule: elementwise |actual − expected| ≤ atol + rtol·|expected|, or exact. */
import { HostTensor } from '../io/host-tensor';
import { ManifestTensor } from './manifest';

export interface TensorCheck {
  name: string;
  pass: boolean;
  maxAbsErr: number;
  /** human-readable tolerance, e.g. "atol 1e-5 rtol 1e-4" or "exact (≤63 mismatches)" */
  tolerance: string;
  detail?: string;
}

export function compareTensor(name: string, actual: HostTensor | undefined, expected: HostTensor, spec: ManifestTensor): TensorCheck {
  const exact = spec.compare === 'exact';
  const allowed = spec.allowed_mismatches ?? 0;
  const atol = spec.atol ?? 0;
  const rtol = spec.rtol ?? 0;
  const tolerance = exact ? `exact${allowed ? ` (≤${allowed} mismatches)` : ''}` : `atol ${atol} rtol ${rtol}`;
  if (!actual) return { name, pass: false, maxAbsErr: NaN, tolerance, detail: 'not produced' };
  const same = actual.shape.length === expected.shape.length && actual.shape.every((d, i) => d === expected.shape[i]);
  if (!same) {
    return { name, pass: false, maxAbsErr: NaN, tolerance, detail: `shape [${actual.shape}] ≠ expected [${expected.shape}]` };
  }
  let maxAbsErr = 0;
  let bad = 0;
  let firstBad = -1;
  for (let i = 0; i < expected.data.length; i++) {
    const e = expected.data[i];
    const a = actual.data[i];
    const err = Math.abs(a - e);
    if (!(err <= maxAbsErr)) maxAbsErr = Number.isNaN(err) ? Infinity : Math.max(maxAbsErr, err);
    const ok = exact ? a === e : err <= atol + rtol * Math.abs(e);
    if (!ok) {
      bad++;
      if (firstBad < 0) firstBad = i;
    }
  }
  const pass = exact ? bad <= allowed : bad === 0;
  const detail = bad ? `${bad} of ${expected.data.length} elements outside (first at flat index ${firstBad}: ${actual.data[firstBad]} vs ${expected.data[firstBad]})` : undefined;
  return { name, pass, maxAbsErr, tolerance, detail };
}
