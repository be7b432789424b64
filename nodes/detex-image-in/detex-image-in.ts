/**
 * detex-image-in: images from files in the configured folder, from Buffers, or from an HTTP upload
 * (http-in with "accept file uploads"), checked for size and type → msg.payload = [PNG/JPEG/WebP Buffer, ...].
 */
import * as fs from 'fs';
import * as path from 'path';
import { NodeAPI, NodeDef, Node, Msg } from '../shared/red';
import { setupNode, NodeError, numberIn } from '../shared/node-base';
import { folderOrDefault, resolveExisting } from '../shared/safe-path';
import { sniffImage } from '../shared/image-type';

const IMAGE_FILE = /\.(png|jpe?g|webp)$/i;

interface Upload {
  originalname?: string;
  size?: number;
  buffer?: Buffer;
}

export = function (RED: NodeAPI): void {
  function DetexImageInNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const folder = folderOrDefault(def.folder, RED.settings.userDir, 'images');
    const maxFiles = numberIn('maxFiles', def.maxFiles, 32, 1, 1000);
    const maxBytes = Math.round(numberIn('maxSizeMB', def.maxSizeMB, 10, 0.001, 1000, false) * 1024 * 1024);

    setupNode(RED, node, 'detex-image-in', async (msg: Msg, ctx) => {
      const items: Array<{ name: string; bytes: Buffer }> = [];
      const add = (name: string, bytes: unknown, size?: number) => {
        if (items.length >= maxFiles) throw new NodeError('detex-image-in.errors.tooMany', { max: maxFiles });
        if (!Buffer.isBuffer(bytes)) throw new NodeError('detex-image-in.errors.notBytes', { name });
        if ((size ?? bytes.length) > maxBytes || bytes.length > maxBytes) throw new NodeError('detex-image-in.errors.tooBig', { name, max: maxBytes });
        if (!sniffImage(bytes)) throw new NodeError('detex-image-in.errors.notImage', { name });
        items.push({ name, bytes });
      };
      const req = msg.req as { files?: Upload[] } | undefined;
      if (req && Array.isArray(req.files) && req.files.length) {
        // an HTTP upload; the form's other fields stay in msg.payload (moved to msg.fields)
        for (const f of req.files) add(String(f.originalname ?? 'upload'), f.buffer, f.size);
        if (typeof msg.payload === 'object' && msg.payload !== null && !Buffer.isBuffer(msg.payload)) msg.fields = msg.payload;
      } else {
        const p = msg.payload;
        const list = Array.isArray(p) ? p : p === undefined || p === null || p === '' ? undefined : [p];
        if (!list) {
          // everything in the folder
          await fs.promises.mkdir(folder, { recursive: true });
          const names = (await fs.promises.readdir(folder)).filter((n) => IMAGE_FILE.test(n)).sort();
          if (!names.length) throw new NodeError('detex-image-in.errors.emptyFolder', { folder });
          for (const n of names) {
            const real = await resolveExisting(folder, n);
            const st = await fs.promises.stat(real);
            if (!st.isFile()) continue;
            if (st.size > maxBytes) throw new NodeError('detex-image-in.errors.tooBig', { name: n, max: maxBytes });
            add(n, await fs.promises.readFile(real));
          }
        } else {
          for (let i = 0; i < list.length; i++) {
            const x = list[i];
            if (typeof x === 'string') {
              const real = await resolveExisting(folder, x);
              const st = await fs.promises.stat(real);
              if (st.size > maxBytes) throw new NodeError('detex-image-in.errors.tooBig', { name: x, max: maxBytes });
              add(path.relative(await fs.promises.realpath(folder), real), await fs.promises.readFile(real));
            } else if (Buffer.isBuffer(x)) add(`#${i}`, x);
            else throw new NodeError('common.errors.imageKind', { index: i, got: x === null ? 'null' : typeof x });
          }
        }
      }
      ctx.progress('', items.length);
      msg.payload = items.map((i) => i.bytes);
      msg.filenames = items.map((i) => i.name);
      ctx.send(msg);
    });
  }
  RED.nodes.registerType('detex-image-in', DetexImageInNode);
};
