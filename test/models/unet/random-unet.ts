/** Builds a UNet with seeded random weights for any config, through ParamStore.fromHost (test helper). */
import { ParamStore, ParamLayout } from '../../../lib/nn/params';
import { HostTensor, hostTensor } from '../../../lib/io/host-tensor';
import { Rng } from '../../../lib/random';
import { UNet2DConditionModel } from '../../../lib/models/unet/unet';
import { UNetConfig } from '../../../lib/models/unet/config';

/** Every parameter name and PyTorch shape a config asks for, found by building against a recording store. */
export function unetParameterShapes(config: UNetConfig): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  const recorder = {
    take: (name: string, shape: readonly number[], _layout?: ParamLayout) => void shapes.set(name, [...shape]),
    unusedKeys: () => [],
  };
  UNet2DConditionModel.fromConfig(config, recorder as unknown as ParamStore, { warn: () => {} });
  return shapes;
}

/** Norm weights near 1, everything else small: activations stay O(1) through the network. */
export function randomUNetWeights(config: UNetConfig, seed: number): Map<string, HostTensor> {
  const rng = new Rng(seed);
  const out = new Map<string, HostTensor>();
  for (const [name, shape] of unetParameterShapes(config)) {
    const data = rng.normal(shape);
    const isNormWeight = /norm[^.]*\.weight$/.test(name);
    const fanIn = shape.length > 1 ? shape.slice(1).reduce((a, b) => a * b, 1) : 1;
    const scale = isNormWeight ? 0.1 : shape.length > 1 ? 1 / Math.sqrt(fanIn) : 0.05;
    for (let i = 0; i < data.length; i++) data[i] = (isNormWeight ? 1 : 0) + scale * data[i];
    out.set(name, hostTensor('float32', shape, data));
  }
  return out;
}

export function randomUNet(config: UNetConfig, seed: number, warn: (m: string) => void = () => {}): UNet2DConditionModel {
  return UNet2DConditionModel.fromConfig(config, ParamStore.fromHost(randomUNetWeights(config, seed)), { warn });
}
