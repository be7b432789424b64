/** detex-eval: generated images (+ prompt, reference images and masks) → CLIP-T, CLIP-I, DINO-I and their (FG) variants. */
import { NodeAPI, NodeDef, Node, Msg } from '../shared/red';
import { setupNode, NodeError } from '../shared/node-base';
import { modelConfig, needModel } from '../shared/model-user';
import { getEngine } from '../shared/engine';
import { decodeImages, decodeMaskItem } from '../shared/images';
import { folderOrDefault } from '../shared/safe-path';

const METRICS = ['clip-t', 'clip-i', 'dino-i', 'clip-i-fg', 'dino-i-fg'];

export = function (RED: NodeAPI): void {
  function DetexEvalNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const model = modelConfig(RED, def.model);
    const folder = folderOrDefault(def.folder, RED.settings.userDir, 'images');
    const cfgMetrics = typeof def.metrics === 'string' && def.metrics ? def.metrics.split(',') : ['clip-t', 'clip-i', 'dino-i'];

    const t = setupNode(RED, node, 'detex-eval', async (msg: Msg, ctx) => {
      const metrics = Array.isArray(msg.metrics) ? msg.metrics : cfgMetrics;
      for (const k of metrics) if (typeof k !== 'string' || !METRICS.includes(k)) throw new NodeError('detex-eval.errors.badMetric', { name: String(k), known: METRICS.join(', ') });
      const images = (await decodeImages(msg.payload, 'payload', folder)).map((i) => i.rgb);
      const refs = msg.references === undefined ? undefined : (await decodeImages(msg.references, 'references', folder)).map((i) => i.rgb);
      const rm = msg.referenceMasks;
      const refMasks = rm === undefined ? undefined : await Promise.all((Array.isArray(rm) ? rm : [rm]).map((x, i) => decodeMaskItem(x, i, folder)));
      if (metrics.includes('clip-t') && typeof msg.prompt !== 'string') throw new NodeError('detex-eval.errors.needPrompt');
      if (metrics.some((k: string) => k !== 'clip-t') && !refs) throw new NodeError('detex-eval.errors.needReferences');
      const m = await needModel(model, node, t);
      ctx.progress(t('detex-eval.status.scoring'), images.length);
      msg.payload = await getEngine().evaluate(m, { images, prompt: msg.prompt as string | undefined, references: refs, referenceMasks: refMasks, metrics });
      ctx.send(msg);
    });
  }
  RED.nodes.registerType('detex-eval', DetexEvalNode);
};
