export { runLoop, LoopOptions, LoopResult, LossFn, StepContext, CheckpointContext, CHECKPOINT_FILE, LOG_FILE } from './loop';
export { WeightEma } from './ema';
export { learningRate, LrSchedule } from './schedule';
export { clipByGlobalNorm } from './grad-clip';
export { saveCheckpoint, loadCheckpoint, fingerprint } from './checkpoint';
export { exportComponent, ExportOptions } from './export';
export { worldBatch, evalScenes, packScenes, imagesTensor, WorldBatch, WorldBatchOptions } from './world-data';
export { parseRunArgs, refuseToOverwriteTrained, initialStore, evalInterval, RunArgs } from './cli-args';
export { AdamW } from '../detex/adamw';
