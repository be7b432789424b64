export { sample } from './sample';
export { decodeLatents, decodeLatentsRaw, toUnitRange } from './decode';
export { SamplingCancelledError } from './cancellation';
export { nchwToNhwc, nhwcToNchw } from './layout';
export { Denoiser, LatentDecoder, SampleOptions, SampleResult, StepInfo, StepTensors, PreviewOptions } from './types';
export { loadSDComponents, SDComponents, SDLoadOptions } from './load';
