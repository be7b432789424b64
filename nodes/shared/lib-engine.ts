/**
 * The Engine on lib/: a thin adapter over the plain-data facade lib/engine (one DetexSession per loaded model
 * folder, components loaded lazily: a flow that only segments never loads the UNet).
 */
import { Engine, EngineModel } from './engine';
import { DetexSession, samMask, clipImage, clipText, mapAttributes, compose, sample, train, evaluate, attentionMaps, MetricName } from '../../lib/engine';

class LibModel implements EngineModel {
  constructor(readonly folder: string, readonly session: DetexSession) {}
  dispose(): void {
    void this.session.dispose();
  }
}

const session = (m: EngineModel) => (m as LibModel).session;
const warn = (msg: string) => console.warn(`[detex] ${msg}`);

/** Tokenizer-only sessions for compose (loads no weights). */
const tokenizerSessions = new Map<string, Promise<DetexSession>>();
function tokenizerSession(folder?: string): Promise<DetexSession> {
  const key = folder ?? '';
  let s = tokenizerSessions.get(key);
  if (!s) {
    s = DetexSession.open(folder, { warn });
    tokenizerSessions.set(key, s);
    s.catch(() => tokenizerSessions.delete(key));
  }
  return s;
}

const METRIC_KEYS: Record<string, MetricName> = { 'clip-t': 'clip-t', 'clip-i': 'clip-i', 'clip-i-fg': 'clip-i-fg', 'dino-i': 'dino-i', 'dino-i-fg': 'dino-i-fg' };

export const engine: Engine = {
  name: 'lib',
  async loadModel(folder: string): Promise<EngineModel> {
    const s = await DetexSession.open(folder, { warn });
    return new LibModel(s.folder, s);
  },
  async samMask(m, image, prompt) {
    return (await samMask(session(m), image, prompt)).mask;
  },
  clipImage: (m, images) => clipImage(session(m), images),
  clipText: (m, texts) => clipText(session(m), texts),
  mapAttributes: (m, conceptPath, embeds) => mapAttributes(session(m), conceptPath, embeds),
  async compose(template, conceptPath, view, modelFolder) {
    return compose(await tokenizerSession(modelFolder), template, conceptPath, view);
  },
  async sample(m, req, hooks) {
    const r = await sample(session(m), { ...req, count: 1 }, hooks);
    return { image: r.images[0], latents: r.latents };
  },
  async attentionMaps(m, req, hooks) {
    const r = await attentionMaps(session(m), req, hooks);
    return { image: r.image, latents: r.latents, png: r.png, tokens: r.tokens.map((t) => ({ label: t.label, token: t.token, max: t.max })) };
  },
  async evaluate(m, req) {
    const metrics = req.metrics.map((k) => {
      const name = METRIC_KEYS[k];
      if (!name) throw new Error(`unknown metric "${k}"`);
      return name;
    });
    const scores = await evaluate(session(m), { images: req.images, references: req.references, referenceMasks: req.referenceMasks, prompt: req.prompt, metrics });
    return scores as Record<string, number>;
  },
  async train(modelFolder, job, hooks) {
    const s = await DetexSession.open(modelFolder, { warn });
    try {
      const r = await train(s, { ...job, options: job.options as never }, hooks);
      return { conceptPath: r.conceptPath };
    } finally {
      await s.dispose();
    }
  },
};
