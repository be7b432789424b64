/**
 * Writes a copy of a model folder whose UNet has another model's cross-attention K/V (lib/pretrain/transplant-kv.ts):
 *
 *   node dist/scripts/pretrain/transplant-kv.js --into DIR --kv-from DIR --out NEW
 *
 * NEW is DIR --into's folder (every component) with only the UNet's attn2 to_k / to_v taken from --kv-from. It is
 * built beside NEW and renamed into place, so a failed run leaves nothing; an existing NEW is refused.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { HostTensor } from '../../lib/io/host-tensor';
import { SafetensorsDType, SafetensorsReader, WritableTensor, writeSafetensors } from '../../lib/io/safetensors';
import { transplantKV } from '../../lib/pretrain/transplant-kv';

const UNET_WEIGHTS = path.join('unet', 'diffusion_pytorch_model.safetensors');

interface StoredWeights {
  tensors: Map<string, HostTensor>;
  dtypes: Map<string, SafetensorsDType>;
  metadata: Record<string, string>;
}

function unetWeights(dir: string, flag: string): StoredWeights {
  const file = path.join(dir, UNET_WEIGHTS);
  if (!fs.existsSync(file)) throw new Error(`transplant-kv: ${flag} ${dir} has no ${UNET_WEIGHTS}`);
  const r = SafetensorsReader.open(file);
  try {
    const keys = r.keys();
    return { tensors: new Map(keys.map((k) => [k, r.read(k)])), dtypes: new Map(keys.map((k) => [k, r.info(k).dtype])), metadata: r.metadata };
  } finally {
    r.close();
  }
}

function main(): void {
  const { values } = parseArgs({ options: { into: { type: 'string' }, 'kv-from': { type: 'string' }, out: { type: 'string' } } });
  const { into, 'kv-from': kvFrom, out } = values;
  if (!into || !kvFrom || !out) throw new Error('transplant-kv: needs --into DIR --kv-from DIR --out NEW');
  if (fs.existsSync(out)) throw new Error(`transplant-kv: --out ${out} exists; pick a new folder`);
  const body = unetWeights(into, '--into');
  const { tensors, moved } = transplantKV(body.tensors, unetWeights(kvFrom, '--kv-from').tensors);
  const partial = `${out}.partial-${process.pid}`;
  try {
    fs.cpSync(into, partial, { recursive: true });
    // stored as --into stores them (detex-mini: F16), so every weight it keeps is bit-exact
    const stored = new Map<string, WritableTensor>([...tensors].map(([k, t]) => [k, { ...t, as: body.dtypes.get(k) }]));
    writeSafetensors(path.join(partial, UNET_WEIGHTS), stored, { ...body.metadata, kvFrom: path.resolve(kvFrom) });
    fs.renameSync(partial, out);
  } catch (e) {
    fs.rmSync(partial, { recursive: true, force: true });
    throw e;
  }
  console.log(`${out}: ${into}'s model with the ${moved.length} attn2 K/V weights of ${kvFrom}`);
}

try {
  main();
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}
