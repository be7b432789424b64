/**
 * sam-mask: image(s) + point/box prompt → subject mask(s) with SAM. A ready mask in msg.mask, or an
 * image with an alpha channel and no prompt, is turned into a mask without running SAM.
 */
import { NodeAPI, NodeDef, Node, Msg } from '../shared/red';
import { setupNode, NodeError, checkAborted } from '../shared/node-base';
import { modelConfig, needModel } from '../shared/model-user';
import { getEngine, SamPrompt } from '../shared/engine';
import { decodeImages, decodeMaskItem } from '../shared/images';
import { folderOrDefault } from '../shared/safe-path';
import { jsonArray, toMsg } from '../shared/tensors';
import { HostTensor } from '../../lib/io/host-tensor';

function isNumArray(a: unknown, len?: number): a is number[] {
  return Array.isArray(a) && a.every((v) => typeof v === 'number' && Number.isFinite(v)) && (len === undefined || a.length === len);
}

export = function (RED: NodeAPI): void {
  function SamMaskNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const model = modelConfig(RED, def.model);
    const folder = folderOrDefault(def.folder, RED.settings.userDir, 'images');
    const cfgPoints = def.points;
    const cfgBox = def.box;

    const t = setupNode(RED, node, 'sam-mask', async (msg: Msg, ctx) => {
      const many = Array.isArray(msg.payload);
      const ready = msg.mask;
      let masks: HostTensor[];
      if (ready !== undefined && ready !== null) {
        const items = Array.isArray(ready) ? ready : [ready];
        masks = [];
        for (let i = 0; i < items.length; i++) masks.push(await decodeMaskItem(items[i], i, folder));
      } else {
        const images = await decodeImages(msg.payload, 'payload', folder);
        let prompt: SamPrompt;
        try {
          const points = msg.points ?? jsonArray(cfgPoints);
          const box = msg.box ?? jsonArray(cfgBox);
          prompt = {};
          if (points !== undefined) {
            if (!Array.isArray(points) || !points.every((p) => isNumArray(p, 2))) throw new Error('points must be [[x, y], ...]');
            prompt.points = points as number[][];
            const labels = msg.labels ?? prompt.points.map(() => 1);
            if (!isNumArray(labels, prompt.points.length)) throw new Error('labels must be one number (1 or 0) per point');
            prompt.labels = labels;
          }
          if (box !== undefined) {
            if (!isNumArray(box, 4)) throw new Error('box must be [x0, y0, x1, y1]');
            prompt.box = box;
          }
        } catch (e) {
          throw new NodeError('sam-mask.errors.badPrompt', { error: (e as Error).message });
        }
        const noPrompt = !prompt.points && !prompt.box;
        masks = [];
        let m: Awaited<ReturnType<typeof needModel>> | undefined;
        for (let i = 0; i < images.length; i++) {
          checkAborted(ctx.signal);
          const img = images[i];
          if (noPrompt && img.alpha) {
            masks.push(img.alpha);
            continue;
          }
          const [H, W] = img.rgb.shape;
          const p = noPrompt ? { points: [[W / 2, H / 2]], labels: [1] } : prompt; // default: the centre
          m = m ?? (await needModel(model, node, t));
          ctx.progress(t('sam-mask.status.segmenting'), i + 1, images.length);
          masks.push(await getEngine().samMask(m, img.rgb, p));
        }
      }
      const out = masks.map(toMsg);
      msg.mask = many || out.length > 1 ? out : out[0];
      ctx.send(msg);
    });
  }
  RED.nodes.registerType('sam-mask', SamMaskNode);
};
