/**
 * detex-train: images + masks + class word → a concept file (DETEX embeddings, mappers and K/V
 * deltas). Training runs in a child process; progress and previews on output 2; msg.cancel = true
 * stops it; msg.resume = true continues from the concept file's checkpoint.
 */
import { NodeAPI, NodeDef, Node, Msg } from '../shared/red';
import { setupNode, NodeError, numberIn } from '../shared/node-base';
import { modelConfig } from '../shared/model-user';
import { decodeImages, decodeMaskItem, encodePng } from '../shared/images';
import { folderOrDefault, resolveForWrite } from '../shared/safe-path';
import { startTraining, RunningJob } from '../shared/train-runner';
import { HostTensor } from '../../lib/io/host-tensor';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export = function (RED: NodeAPI): void {
  function DetexTrainNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const model = modelConfig(RED, def.model);
    const images = folderOrDefault(def.folder, RED.settings.userDir, 'images');
    const concepts = folderOrDefault(def.conceptFolder, RED.settings.userDir, 'concepts');
    const maxQueue = numberIn('maxQueue', def.maxQueue, 2, 0, 16);
    let running: RunningJob | undefined;

    const t = setupNode(
      RED,
      node,
      'detex-train',
      async (msg: Msg, ctx) => {
        if (!model) throw new NodeError('common.errors.noModel');
        const fields = (typeof msg.fields === 'object' && msg.fields !== null ? msg.fields : {}) as Record<string, unknown>;
        const className = [msg.className, fields.class, def.className].find((v) => typeof v === 'string' && v.trim() !== '') as string | undefined;
        if (!className || !/^[\p{L}\p{N} _-]{1,40}$/u.test(className.trim())) throw new NodeError('detex-train.errors.badClass', { got: JSON.stringify(className ?? '') });
        const name = [msg.conceptName, fields.name, def.conceptName, className.trim().replace(/\s+/g, '-')].find((v) => typeof v === 'string' && v !== '') as string;
        if (!NAME.test(name)) throw new NodeError('detex-train.errors.badName', { got: name });
        const imgs = await decodeImages(msg.payload, 'payload', images);
        let masks: HostTensor[];
        if (msg.mask === undefined || msg.mask === null) {
          masks = imgs.map((im) => im.alpha ?? { dtype: 'uint8', shape: im.rgb.shape.slice(0, 2), data: new Uint8Array(im.rgb.shape[0] * im.rgb.shape[1]).fill(1) });
        } else {
          const list = Array.isArray(msg.mask) ? msg.mask : [msg.mask];
          masks = [];
          for (let i = 0; i < list.length; i++) masks.push(await decodeMaskItem(list[i], i, images));
        }
        if (masks.length !== imgs.length) throw new NodeError('detex-train.errors.maskCount', { images: imgs.length, masks: masks.length });
        for (let i = 0; i < imgs.length; i++) {
          const [h, w] = imgs[i].rgb.shape;
          if (masks[i].shape[0] !== h || masks[i].shape[1] !== w) throw new NodeError('detex-train.errors.maskSize', { index: i, image: `${w}x${h}`, mask: `${masks[i].shape[1]}x${masks[i].shape[0]}` });
        }
        const steps = numberIn('steps', msg.steps, Number(def.steps || 200), 1, 100000);
        const seed = numberIn('seed', msg.seed, Number(def.seed || 0), 0, 2 ** 32 - 1);
        const previewEvery = numberIn('previewEvery', msg.previewEvery, Number(def.previewEvery || 0), 0, 100000);
        const conceptFile = await resolveForWrite(concepts, `${name}.detex.safetensors`);
        const resume = msg.resume === true || (msg.resume === undefined && def.resume === true);
        ctx.progress(t('common.status.queued', { n: '' }).trim());
        let previews = Promise.resolve(); // in order, and all out before the concept
        const job = startTraining(
          model.folder,
          {
            images: imgs.map((i) => i.rgb), masks, className: className.trim(), conceptPath: conceptFile, steps, seed, previewEvery, resume,
            // advanced DetexConfig fields (batchSize, numClassImages, preset, …) and the class-image DDIM steps
            options: typeof msg.options === 'object' && msg.options !== null && !Array.isArray(msg.options) ? (msg.options as Record<string, unknown>) : undefined,
            classImageSteps: msg.classImageSteps === undefined ? undefined : numberIn('classImageSteps', msg.classImageSteps, 50, 1, 1000),
          },
          (p) => {
            const classImages = p.phase === 'class-images';
            ctx.progress(t(classImages ? 'detex-train.status.classImages' : 'detex-train.status.step'), p.step, p.total);
            const payload = { phase: p.phase ?? 'train', step: p.step, total: p.total, loss: p.loss, losses: p.losses };
            const pm: Msg = { topic: classImages ? 'progress/class-images' : 'progress', payload, _msgid: msg._msgid };
            if (!p.preview) return ctx.send([null, pm]);
            const preview = p.preview;
            previews = previews.then(() => encodePng(preview).then((png) => ctx.send([null, { ...pm, preview: png }]), () => ctx.send([null, pm])));
          },
          (pid) => ctx.progress(`pid:${pid}`),
        );
        running = job;
        const onAbort = () => job.cancel(new NodeError('common.errors.cancelled'));
        ctx.signal.addEventListener('abort', onAbort);
        try {
          const r = await job.promise;
          await previews;
          msg.payload = { __detexRef: 'concept', path: r.conceptPath };
          msg.concept = msg.payload;
          msg.className = className.trim();
          ctx.send([msg, null]);
        } finally {
          ctx.signal.removeEventListener('abort', onAbort);
          running = undefined;
        }
      },
      {
        maxQueue,
        onClose: async () => {
          const r = running;
          if (r) {
            r.cancel(new NodeError('common.errors.closed'));
            await r.exited();
          }
        },
      },
    );
  }
  RED.nodes.registerType('detex-train', DetexTrainNode);
};
