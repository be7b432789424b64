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
  step: number;
  total: number;
  loss?: number;
  /** RGB uint8 [H, W, 3] */
  preview?: Image;
}

export function cancelledError(what: string): Error {
  const e = new Error(`${what} cancelled`);
  e.name = 'AbortError';
  return e;
}
