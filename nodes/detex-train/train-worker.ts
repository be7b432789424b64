/**
 * The training child process (forked by nodes/shared/train-runner.ts): receives one job, runs the
 * engine's trainer (lib/detex), reports progress, and exits. Killed by the parent on close.
 */
import { getEngine, TrainJob } from '../shared/engine';

const abort = new AbortController();

function send(m: unknown): void {
  if (process.connected) process.send?.(m);
}

process.on('disconnect', () => process.exit(2)); // the runtime went away
process.on('message', (m: { type: string; modelFolder?: string; job?: TrainJob }) => {
  if (m.type === 'cancel') {
    abort.abort();
    return;
  }
  if (m.type !== 'train' || !m.job || !m.modelFolder) return;
  const { modelFolder, job } = m;
  (async () => {
    try {
      const r = await getEngine().train(modelFolder, job, { signal: abort.signal, onProgress: (progress) => send({ type: 'progress', progress }) });
      send({ type: 'done', conceptPath: r.conceptPath });
    } catch (e) {
      send({ type: 'error', message: abort.signal.aborted ? 'cancelled' : (e as Error).message });
    }
    process.disconnect?.();
    setTimeout(() => process.exit(0), 100).unref();
  })();
});
