/** attribute-mapper: CLIP image embeddings → [P_i] (pose/view) and [B_i] (background) embeddings with a concept's mappers. */
import { NodeAPI, NodeDef, Node, Msg } from '../shared/red';
import { setupNode } from '../shared/node-base';
import { modelConfig, needModel } from '../shared/model-user';
import { getEngine } from '../shared/engine';
import { folderOrDefault } from '../shared/safe-path';
import { tensorFrom, toMsg } from '../shared/tensors';
import { conceptPath } from '../shared/concept';

export = function (RED: NodeAPI): void {
  function AttributeMapperNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const model = modelConfig(RED, def.model);
    const concepts = folderOrDefault(def.conceptFolder, RED.settings.userDir, 'concepts');

    const t = setupNode(RED, node, 'attribute-mapper', async (msg: Msg, ctx) => {
      const emb = tensorFrom(msg.payload, 'payload');
      const cpath = await conceptPath(msg.concept ?? (def.concept || undefined), 'concept', concepts);
      const m = await needModel(model, node, t);
      ctx.progress(t('attribute-mapper.status.mapping'));
      const r = await getEngine().mapAttributes(m, cpath, emb);
      msg.payload = { pose: toMsg(r.pose), background: toMsg(r.background) };
      ctx.send(msg);
    });
  }
  RED.nodes.registerType('attribute-mapper', AttributeMapperNode);
};
