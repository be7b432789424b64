/**
 * The Engine on lib/. Parts of lib/ that have not landed yet are required lazily, so a missing part
 * fails only the node that needs it, with a message that says so.
 */
import * as fs from 'fs';
import { Engine, EngineModel } from './engine';
import { readModelIndex } from '../../lib/io/diffusers-folder';

function notYet(part: string): never {
  throw new Error(`DETEX: ${part} is not available in this build of lib/ yet`);
}

function tryRequire(id: string): Record<string, unknown> | undefined {
  try {
    return require(id) as Record<string, unknown>;
  } catch (e) {
    if ((e as { code?: string }).code === 'MODULE_NOT_FOUND' && String((e as Error).message).includes(id.replace(/^.*\//, ''))) return undefined;
    throw e;
  }
}

class LibModel implements EngineModel {
  constructor(readonly folder: string, readonly parts: Map<string, { dispose(): void }> = new Map()) {}
  dispose(): void {
    for (const p of this.parts.values()) p.dispose();
    this.parts.clear();
  }
}

export const engine: Engine = {
  name: 'lib',
  async loadModel(folder: string): Promise<EngineModel> {
    if (!fs.existsSync(folder)) throw new Error(`model folder ${folder} does not exist`);
    readModelIndex(folder); // validates the diffusers layout; components load lazily per node
    const { initBackend } = await import('../../lib/backend');
    await initBackend();
    return new LibModel(folder);
  },
  async samMask() {
    const m = tryRequire('../../lib/models/sam/predictor');
    if (!m) notYet('the SAM predictor (lib/models/sam/predictor)');
    return notYet('sam-mask wiring to lib/models/sam/predictor');
  },
  async clipImage() {
    return notYet('the CLIP vision model (lib/models/clip)');
  },
  async clipText() {
    return notYet('the CLIP text model (lib/models/clip)');
  },
  async mapAttributes() {
    return notYet('the attribute mappers (lib/detex)');
  },
  async compose() {
    return notYet('the prompt composer (lib/detex)');
  },
  async sample() {
    return notYet('the sampling pipeline (lib/pipelines)');
  },
  async evaluate() {
    return notYet('the metrics (lib/metrics)');
  },
  async train() {
    return notYet('the DETEX trainer (lib/detex/trainer)');
  },
};
