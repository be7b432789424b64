/**
 * Parity runner for CLIPTextModel fixtures (`clip-text-tiny` and any fixture whose reference class is
 * CLIPTextModel[WithProjection]). The model is built from the folder's config.json + weights. Inputs:
 * `input_ids` (or `args.prompts`, tokenized with the manifest's `models.tokenizer` folder), optional
 * `attention_mask`, optional `added_token_ids` + `added_token_embeddings` (resize_token_embeddings).
 * Outputs: last_hidden_state, pooler_output, text_embeds, hidden_states_i, pooler_index.
 */
import * as path from 'path';
import { HostTensor, fromTfSync, hostTensor } from '../../io/host-tensor';
import { loadCLIPTextModel } from '../../models/clip/loader';
import { CLIPTokenizer } from '../../models/clip/tokenizer';
import { CLIPTextModel, disposeTextOutput } from '../../models/clip/text-model';
import { Manifest } from '../manifest';
import { CaseRunner, RunContext, RunOutput } from '../runner';

function referenceClass(m: Manifest): string {
  const r = m.reference as { class?: string } | undefined;
  return r?.class ?? '';
}

export function isClipTextManifest(m: Manifest): boolean {
  return /^CLIPTextModel/.test(referenceClass(m)) || /^clip-text/.test(m.fixture) || (m.config as { model_type?: string } | undefined)?.model_type === 'clip_text_model';
}

function inputIds(ctx: RunContext): number[][] | HostTensor {
  if (ctx.kase.inputs?.input_ids) return ctx.tensor('input_ids');
  const prompts = ctx.kase.args?.prompts as string[] | undefined;
  const tokDir = (ctx.manifest.models as { tokenizer?: string } | undefined)?.tokenizer;
  if (!prompts || !tokDir) throw new Error(`case "${ctx.kase.name}": no input_ids and no prompts + models.tokenizer to make them`);
  const tok = CLIPTokenizer.fromFolder(path.resolve(ctx.dir, tokDir));
  const added = ctx.kase.args?.added_tokens as string[] | undefined;
  if (added) tok.addTokens(added);
  return tok.call(prompts).inputIds;
}

function applyAddedTokens(model: CLIPTextModel, ctx: RunContext): void {
  if (!ctx.kase.inputs?.added_token_embeddings) return;
  const rows = ctx.tensor('added_token_embeddings');
  const ids = ctx.kase.inputs.added_token_ids ? Array.from(ctx.tensor('added_token_ids').data) : rows.shape[0] ? Array.from({ length: rows.shape[0] }, (_, i) => model.config.vocab_size + i) : [];
  const [k, c] = rows.shape;
  const vocab = model.config.vocab_size;
  const total = Math.max((ctx.kase.args?.vocab_size_after_resize as number | undefined) ?? 0, vocab + k, ...ids.map((i) => i + 1));
  // rows in id order; any id not given keeps a zero row
  const table = new Float32Array((total - vocab) * c);
  ids.forEach((id, j) => {
    if (id < vocab) throw new Error(`added_token_ids: ${id} is inside the base vocabulary (${vocab})`);
    table.set((rows.data as Float32Array).subarray(j * c, (j + 1) * c), (id - vocab) * c);
  });
  model.resizeTokenEmbeddings(total, table);
}

export const runner: CaseRunner = {
  name: 'clip-text',
  matches: (m) => isClipTextManifest(m),
  async run(ctx): Promise<RunOutput> {
    const model = loadCLIPTextModel(ctx.dir, { warn: () => {} });
    try {
      applyAddedTokens(model, ctx);
      const expected = Object.keys(ctx.kase.expected ?? {});
      const wantHidden = expected.some((k) => k.startsWith('hidden_states_'));
      const out = model.forward(inputIds(ctx), {
        attentionMask: ctx.kase.inputs?.attention_mask ? ctx.tensor('attention_mask') : undefined,
        outputHiddenStates: wantHidden,
      });
      const outputs = new Map<string, HostTensor>();
      try {
        outputs.set('last_hidden_state', fromTfSync(out.lastHiddenState));
        outputs.set('pooler_output', fromTfSync(out.pooledOutput));
        if (out.textEmbeds) outputs.set('text_embeds', fromTfSync(out.textEmbeds));
        out.hiddenStates?.forEach((h, i) => outputs.set(`hidden_states_${i}`, fromTfSync(h)));
        outputs.set('pooler_index', hostTensor('int32', [out.poolerIndex.length], Int32Array.from(out.poolerIndex)));
      } finally {
        disposeTextOutput(out);
      }
      return { outputs };
    } finally {
      model.dispose();
    }
  },
};
