/** How a node uses its detex-model config node. */
import { EngineModel } from './engine';
import { NodeAPI, Node } from './red';
import { NodeError } from './node-base';

export interface ModelConfigNode {
  folder: string;
  getModel(user: Node): Promise<EngineModel>;
}

export function modelConfig(RED: NodeAPI, id: unknown): ModelConfigNode | undefined {
  if (typeof id !== 'string' || !id) return undefined;
  const n = RED.nodes.getNode(id) as Partial<ModelConfigNode> | null;
  return n && typeof n.getModel === 'function' ? (n as ModelConfigNode) : undefined;
}

/** The model, loading it on first use (status "loading model" while it loads). */
export async function needModel(cfg: ModelConfigNode | undefined, user: Node, t: (k: string, s?: Record<string, unknown>) => string): Promise<EngineModel> {
  if (!cfg) throw new NodeError('common.errors.noModel');
  user.status({ fill: 'yellow', shape: 'ring', text: t('common.status.loading') });
  try {
    return await cfg.getModel(user);
  } catch (e) {
    throw new NodeError('common.errors.modelLoad', { folder: cfg.folder, error: (e as Error).message });
  }
}
