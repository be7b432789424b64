/**
 * ddim-sample: prompt(s) + concept → PNG images (recipe in the metadata) and their final latents.
 * One msg per image on output 1 (msg.parts set, so a join node can collect them); progress with a
 * preview on output 2; msg.cancel = true stops it. With the `attentionMaps` option (or msg.attentionMaps = true) each
 * image msg also carries msg.attentionMaps = { png, tokens }: what the prompt's pseudo-words (or msg.attentionTokens,
 * e.g. ["V", "P.1", "B.1"]) attend to, captured from the same denoising run.
 */
import { NodeAPI, NodeDef, Node, Msg } from '../shared/red';
import { setupNode, NodeError, numberIn, checkAborted } from '../shared/node-base';
import { modelConfig, needModel } from '../shared/model-user';
import { getEngine, Hooks } from '../shared/engine';
import { folderOrDefault } from '../shared/safe-path';
import { conceptPath } from '../shared/concept';
import { encodePng } from '../shared/images';
import { toMsg } from '../shared/tensors';
import { DetexImageMetadata } from '../../lib/io/png-metadata';
import { samplingGuidance } from '../../lib/detex/model-defaults';

export = function (RED: NodeAPI): void {
  function DdimSampleNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const model = modelConfig(RED, def.model);
    const concepts = folderOrDefault(def.conceptFolder, RED.settings.userDir, 'concepts');

    const t = setupNode(RED, node, 'ddim-sample', async (msg: Msg, ctx) => {
      const prompts = Array.isArray(msg.payload) ? msg.payload : [msg.payload];
      if (!prompts.length || !prompts.every((p) => typeof p === 'string' && p.trim() !== '')) throw new NodeError('ddim-sample.errors.noPrompt');
      const steps = numberIn('steps', msg.steps, Number(def.steps || 30), 1, 1000);
      // empty in the node and absent from the msg: the model's own default (detex_config.json), else the paper's 6
      const guidanceSet = !(msg.guidance === undefined && (def.guidance === '' || def.guidance === undefined));
      const guidance = guidanceSet ? numberIn('guidance', msg.guidance, Number(def.guidance), 0, 50, false) : undefined;
      const count = numberIn('count', msg.count, Number(def.count || 1), 1, 16);
      const cfgSeed = def.seed === '' || def.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : def.seed;
      const seed0 = numberIn('seed', msg.seed, Number(cfgSeed), 0, 2 ** 32 - 1);
      const negativePrompt = typeof msg.negativePrompt === 'string' ? msg.negativePrompt : typeof def.negative === 'string' ? def.negative : '';
      const conceptRaw = msg.concept ?? (def.concept || undefined);
      const cpath = conceptRaw === undefined ? undefined : await conceptPath(conceptRaw, 'concept', concepts);
      const m = await needModel(model, node, t);
      // attentionMaps: also put a PNG of what the prompt's pseudo-words (or msg.attentionTokens) attend to on the msg
      const wantMaps = msg.attentionMaps === undefined ? def.attentionMaps === true || def.attentionMaps === 'true' : msg.attentionMaps === true;
      const engine = getEngine();
      if (wantMaps && !engine.attentionMaps) throw new NodeError('ddim-sample.errors.noAttentionMaps');
      const attentionTokens = Array.isArray(msg.attentionTokens) ? (msg.attentionTokens as unknown[]).map(String) : undefined;
      const total = prompts.length * count;
      const partsId = `${msg._msgid ?? node.id}-ddim`;
      let index = 0;
      for (const prompt of prompts as string[]) {
        for (let k = 0; k < count; k++, index++) {
          checkAborted(ctx.signal);
          const seed = (seed0 + k) >>> 0;
          ctx.progress(t('ddim-sample.status.sampling'), index + 1, total);
          const hooks: Hooks = {
            signal: ctx.signal,
            onProgress: (p) => {
              ctx.progress(t('ddim-sample.status.step'), p.step, p.total);
              ctx.send([null, { payload: { image: index, step: p.step, total: p.total }, topic: 'progress', _msgid: msg._msgid }]);
            },
          };
          const req = { prompt, negativePrompt, conceptPath: cpath, steps, guidance, seed };
          const maps = wantMaps ? await engine.attentionMaps!(m, { ...req, tokens: attentionTokens }, hooks) : undefined;
          const r = maps ?? (await engine.sample(m, req, hooks));
          checkAborted(ctx.signal);
          const meta: DetexImageMetadata = { prompt, seed, steps, guidance: samplingGuidance(m.folder, guidance), model: m.folder, extra: { scheduler: 'DDIM', width: r.image.shape[1], height: r.image.shape[0] } };
          if (negativePrompt) meta.negative_prompt = negativePrompt;
          if (cpath) meta.concept = cpath;
          const out = total === 1 ? msg : RED.util.cloneMessage(msg);
          out.payload = await encodePng(r.image, meta);
          out.latents = toMsg(r.latents);
          out.metadata = meta;
          out.seed = seed;
          if (maps) out.attentionMaps = { png: maps.png, tokens: maps.tokens };
          if (total > 1) out.parts = { id: partsId, index, count: total, type: 'array', len: 1 };
          ctx.send([out, null]);
        }
      }
    });
  }
  RED.nodes.registerType('ddim-sample', DdimSampleNode);
};
