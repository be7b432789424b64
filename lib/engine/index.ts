/**
 * The plain-data facade over lib/ (no Node-RED here): a DetexSession per model folder, and one function per job.
 * Inputs and outputs are HostTensors (uint8 images [H, W, 3], masks [H, W], float32 embeddings), file paths and
 * numbers, so they cross IPC, msgs and JSON; every call frees all the tensors it makes.
 */
export { DetexSession, SessionOptions } from './session';
export { samMask, SamPromptInput, SamMaskResult } from './sam-mask';
export { clipImage, clipText } from './clip';
export { mapAttributes, AttributeEmbeddings } from './map-attributes';
export { compose, ComposeOutput } from './compose';
export { sample, SampleRequest, SampleOutput } from './sample';
export { attentionMaps, AttentionMapsRequest, AttentionMapsOutput, TokenMap } from './attention-maps';
export { attentionAlignment, AttentionAlignmentRequest, AttentionAlignmentOutput, PhotoAlignment } from './attention-alignment';
export { train, trainingConfig, TrainJob, TrainOutput, checkpointPathFor } from './train';
export { evaluate, EvaluateRequest, Scores, METRICS, MetricName, plainPrompt, defaultMetrics } from './evaluate';
export { Hooks, StepProgress, Image, Mask } from './types';
