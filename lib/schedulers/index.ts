export { DDIMScheduler, DDIMStepOptions, DDIMStepOutput } from './ddim';
export { DDIMConfig, DDIM_DEFAULTS, resolveDDIMConfig } from './ddim-config';
export { makeTrainingNoise, TrainingNoise, TrainingNoiseOptions } from './training-noise';
