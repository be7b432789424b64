/** prompt-composer: a mustache template + a concept → the prompt, its tokens and the substitutions made. */
import { NodeAPI, NodeDef, Node, Msg } from '../shared/red';
import { setupNode, NodeError } from '../shared/node-base';
import { getEngine } from '../shared/engine';
import { folderOrDefault } from '../shared/safe-path';
import { conceptPath } from '../shared/concept';

export = function (RED: NodeAPI): void {
  function PromptComposerNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const concepts = folderOrDefault(def.conceptFolder, RED.settings.userDir, 'concepts');
    const cfgTemplate = typeof def.template === 'string' ? def.template : '';

    setupNode(RED, node, 'prompt-composer', async (msg: Msg, ctx) => {
      // The template: msg.template, else a string payload, else the dialog's.
      const template = typeof msg.template === 'string' ? msg.template : typeof msg.payload === 'string' ? msg.payload : cfgTemplate;
      if (!template.trim()) throw new NodeError('prompt-composer.errors.noTemplate');
      const view = typeof msg.payload === 'object' && msg.payload !== null && !Array.isArray(msg.payload) ? (msg.payload as Record<string, unknown>) : {};
      const cpath = await conceptPath(msg.concept ?? (def.concept || undefined), 'concept', concepts);
      const r = await getEngine().compose(template, cpath, view);
      msg.payload = r.prompt;
      msg.tokens = r.tokens;
      msg.substitutions = r.substitutions;
      msg.concept = { __detexRef: 'concept', path: cpath };
      ctx.send(msg);
    });
  }
  RED.nodes.registerType('prompt-composer', PromptComposerNode);
};
