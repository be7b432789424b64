/**
 * Old diffusers VAE checkpoints (the SD v1.4/v1.5 `vae/` folders) name the mid-block attention
 * `query/key/value/proj_attn`; current diffusers renames them on load (ModelMixin
 * `_convert_deprecated_attention_blocks`). Same tensors, same (out, in) shapes.
 */
const LEGACY_ATTENTION = /^(.*\.mid_block\.attentions\.\d+)\.(query|key|value|proj_attn)\.(weight|bias)$/;
const CURRENT: Record<string, string> = { query: 'to_q', key: 'to_k', value: 'to_v', proj_attn: 'to_out.0' };

/** Maps a stored parameter name to the current one (unchanged if it is not a legacy attention name). */
export function renameLegacyVAEKey(stored: string): string {
  const m = LEGACY_ATTENTION.exec(stored);
  return m ? `${m[1]}.${CURRENT[m[2]]}.${m[3]}` : stored;
}
