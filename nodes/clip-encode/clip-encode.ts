/** clip-encode: images → CLIP image embeddings, or text(s) → CLIP text embeddings. */
import { NodeAPI, NodeDef, Node, Msg } from '../shared/red';
import { setupNode, NodeError } from '../shared/node-base';
import { modelConfig, needModel } from '../shared/model-user';
import { getEngine } from '../shared/engine';
import { decodeImages } from '../shared/images';
import { folderOrDefault } from '../shared/safe-path';
import { toMsg } from '../shared/tensors';

export = function (RED: NodeAPI): void {
  function ClipEncodeNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const model = modelConfig(RED, def.model);
    const folder = folderOrDefault(def.folder, RED.settings.userDir, 'images');
    const mode = def.mode === 'text' || def.mode === 'image' ? def.mode : 'auto';

    const t = setupNode(RED, node, 'clip-encode', async (msg: Msg, ctx) => {
      const p = msg.payload;
      const items = Array.isArray(p) ? p : [p];
      const textual = mode === 'text' || (mode === 'auto' && items.length > 0 && items.every((x) => typeof x === 'string') && !folderHasAll(items));
      const m = await needModel(model, node, t);
      ctx.progress(t('clip-encode.status.encoding'), items.length);
      if (textual) {
        if (!items.length || !items.every((x) => typeof x === 'string')) throw new NodeError('clip-encode.errors.notText');
        msg.payload = toMsg(await getEngine().clipText(m, items as string[]));
        msg.embedding = 'text';
      } else {
        const images = await decodeImages(p, 'payload', folder);
        msg.payload = toMsg(await getEngine().clipImage(m, images.map((i) => i.rgb)));
        msg.embedding = 'image';
      }
      ctx.send(msg);
    });

    // In auto mode a string is a file name when it ends like an image file.
    function folderHasAll(items: unknown[]): boolean {
      return items.every((x) => typeof x === 'string' && /\.(png|jpe?g|webp)$/i.test(x));
    }
  }
  RED.nodes.registerType('clip-encode', ClipEncodeNode);
};
