/**
 * Parameters a pretraining run keeps at its starting weights (`unet.js --freeze-cross-kv`). The checkpoint holds only
 * what is trained, and a resumed run builds its store from the seed, so the frozen values would be lost on the first
 * resume: the run's start writes them to `<cache>/frozen.safetensors` (tfjs layout, F32, as the checkpoint) and every
 * resume reads them back, refusing a cache whose file is missing or was written for other parameters.
 */
import * as fs from 'fs';
import * as path from 'path';
import { fromTfSync, toTf } from '../io/host-tensor';
import { SafetensorsReader, WritableTensor, writeSafetensors } from '../io/safetensors';
import { ParamStore } from '../nn/params';

export const FROZEN_FILE = 'frozen.safetensors';

/** Writes (at a run's start) or restores (on a resume) the store's parameters named `names`. */
export function keepFrozen(store: ParamStore, names: readonly string[], cache: string, resuming: boolean): void {
  const file = path.join(cache, FROZEN_FILE);
  if (!resuming) {
    const tensors = new Map<string, WritableTensor>(names.map((n) => [n, fromTfSync(store.tensor(n))]));
    fs.mkdirSync(cache, { recursive: true });
    writeSafetensors(file, tensors, { frozen: names.join(';') });
    return;
  }
  if (!fs.existsSync(file)) throw new Error(`${cache} holds a checkpoint but not ${FROZEN_FILE}: the frozen parameters' starting weights are lost`);
  const r = SafetensorsReader.open(file);
  try {
    if (r.metadata.frozen !== names.join(';')) {
      throw new Error(`${file} holds other frozen parameters than this run freezes (was the freeze changed between runs?)`);
    }
    for (const n of names) store.set(n, toTf(r.read(n)));
  } finally {
    r.close();
  }
}
