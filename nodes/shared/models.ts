/**
 * Loaded models, shared process-wide by folder and reference-counted: every detex-model config
 * node naming the same folder shares one instance; the last release disposes it.
 */
import { EngineModel, getEngine } from './engine';

interface Slot {
  refs: number;
  loading: Promise<EngineModel>;
}

const slots = new Map<string, Slot>();

export function acquireModel(folder: string): Promise<EngineModel> {
  let s = slots.get(folder);
  if (!s) {
    const loading = getEngine().loadModel(folder);
    s = { refs: 0, loading };
    slots.set(folder, s);
    // A failed load must not stay cached: the next user retries.
    loading.catch(() => {
      if (slots.get(folder) === s) slots.delete(folder);
    });
  }
  s.refs++;
  return s.loading;
}

export function releaseModel(folder: string): void {
  const s = slots.get(folder);
  if (!s) return;
  if (--s.refs > 0) return;
  slots.delete(folder);
  s.loading.then((m) => m.dispose(), () => undefined);
}

/** How many models are loaded (for tests and the admin status endpoint). */
export function loadedModelCount(): number {
  return slots.size;
}
