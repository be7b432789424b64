/** detex-image-out: saves image(s) as PNG (with the DETEX recipe in the metadata) inside the configured folder. */
import Mustache from 'mustache';
import { NodeAPI, NodeDef, Node, Msg } from '../shared/red';
import { setupNode, NodeError } from '../shared/node-base';
import { folderOrDefault, resolveForWrite } from '../shared/safe-path';
import { decodeImageItem, encodePng } from '../shared/images';
import { sniffImage } from '../shared/image-type';
import { writeFileAtomicAsync } from '../../lib/io/atomic-write';
import { DetexImageMetadata, embedDetexMetadata } from '../../lib/io/png-metadata';

export = function (RED: NodeAPI): void {
  function DetexImageOutNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const folder = folderOrDefault(def.folder, RED.settings.userDir, 'out');
    const pattern = typeof def.filename === 'string' && def.filename.trim() ? def.filename.trim() : 'detex-{{seed}}-{{index}}.png';

    setupNode(RED, node, 'detex-image-out', async (msg: Msg, ctx) => {
      const list = Array.isArray(msg.payload) ? msg.payload : [msg.payload];
      const meta = (typeof msg.metadata === 'object' && msg.metadata !== null ? msg.metadata : undefined) as DetexImageMetadata | undefined;
      const written: string[] = [];
      for (let i = 0; i < list.length; i++) {
        let png: Buffer;
        const x = list[i];
        if (Buffer.isBuffer(x) && sniffImage(x) === 'png') png = meta ? embedDetexMetadata(x, meta) : x;
        else png = await encodePng((await decodeImageItem(x, i, undefined)).rgb, meta);
        const name =
          typeof msg.filename === 'string' && list.length === 1
            ? msg.filename
            : Mustache.render(pattern, { ...(meta ?? {}), index: i, msgid: msg._msgid, time: Date.now() }, {}, { escape: (s: string) => String(s) });
        if (!/\.png$/i.test(name)) throw new NodeError('detex-image-out.errors.notPng', { name });
        const target = await resolveForWrite(folder, name);
        await writeFileAtomicAsync(target, png);
        written.push(target);
        ctx.progress('', i + 1, list.length);
      }
      msg.filename = written.length === 1 ? written[0] : written;
      ctx.send(msg);
    });
  }
  RED.nodes.registerType('detex-image-out', DetexImageOutNode);
};
