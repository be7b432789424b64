/**
 * detex-model: a diffusers-layout model folder (empty = the package's embedded default), loaded
 * once on first use and shared by every node that selects it (and process-wide by folder,
 * reference-counted); released on redeploy.
 */
import { NodeAPI, NodeDef, Node } from '../shared/red';
import { EngineModel } from '../shared/engine';
import { acquireModel, releaseModel, loadedModelCount } from '../shared/models';
import { modelFolderFrom, defaultModelFolder } from '../shared/model-folder';

interface ModelNode extends Node {
  folder: string;
  getModel(user: Node): Promise<EngineModel>;
}

export = function (RED: NodeAPI): void {
  function DetexModelNode(this: ModelNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    node.folder = modelFolderFrom(def.folder);
    // One acquisition per config node, made on first use; every user node shares it.
    let held: Promise<EngineModel> | undefined;
    node.getModel = () => {
      if (!held) {
        const p = acquireModel(node.folder);
        held = p;
        p.catch(() => {
          if (held === p) held = undefined; // acquireModel already dropped the failed slot
        });
      }
      return held;
    };
    node.on('close', (_removed: boolean, done: () => void) => {
      if (held) releaseModel(node.folder);
      held = undefined;
      done();
    });
  }
  RED.nodes.registerType('detex-model', DetexModelNode);

  // The editor shows which folder an empty setting means, and how many models are loaded.
  if (RED.httpAdmin && RED.auth) {
    RED.httpAdmin.get('/detex-model/info', RED.auth.needsPermission('detex-model.read'), (_req: unknown, res: { json(o: unknown): void }) => {
      res.json({ defaultFolder: defaultModelFolder(), loaded: loadedModelCount() });
    });
  }
};
