/** Plain-data types of the engine facade: everything here survives structured cloning, IPC and JSON. */
import { HostTensor } from '../io/host-tensor';

/** RGB uint8 [H, W, 3] */
export type Image = HostTensor;
/** uint8 [H, W], 1 = subject */
export type Mask = HostTensor;

export interface Hooks<P> {
  onProgress?(p: P): void;
  signal?: AbortSignal;
}

export interface StepProgress {
  /** train: what is reported (absent = a sampling step): 'class-images' (step = images made), 'train', 'preview' */
  phase?: 'class-images' | 'train' | 'preview';
  step: number;
  total: number;
  /** the step's total loss L */
  loss?: number;
  /** each term of the step's loss (train) */
  losses?: { total: number; ldm: number; pr: number; ca: number };
  /** since the job started (train: the training run's start for phase 'train'), and the estimated rest */
  elapsedMs?: number;
  etaMs?: number;
  /** RGB uint8 [H, W, 3] */
  preview?: Image;
}

export function cancelledError(what: string): Error {
  const e = new Error(`${what} cancelled`);
  e.name = 'AbortError';
  return e;
}
