/** Segment Anything (facebookresearch/segment-anything) on TensorFlow.js. */
export * from './config';
export { buildSam, buildSamFromStore, loadSamFromFolder, BuildSamOptions } from './build';
export { Sam, preprocessImage, postprocessMasks, postprocessUpscale } from './sam';
export { SamPredictor, PredictOptions, Prediction } from './predictor';
export { ResizeLongestSide, getPreprocessShape } from './resize-longest-side';
export { resizeBilinearPil } from '../../io/pil-resample';
export { ImageEncoderViT } from './image-encoder';
export { PromptEncoder, PromptInputs, PromptEmbeddings } from './prompt-encoder';
export { MaskDecoder, MaskDecoderOutput } from './mask-decoder';
export { TwoWayTransformer } from './two-way-transformer';
