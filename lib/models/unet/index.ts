export { UNet2DConditionModel, UNetForwardOptions, UNetForwardResult, UNetLoadOptions, Timestep } from './unet';
export { UNetConfig, UNetConfigError, ResolvedUNetConfig, resolveUNetConfig, UNET_CONFIG_DEFAULTS } from './config';
export { AttentionMaps, CaptureAttentionOptions, CrossAttentionLayerInfo, atDownscale, atHalfLatent } from './attention-capture';
export { moduleFacts, ModuleFact } from './module-facts';
export { upsampleNearest2x } from './resample';
