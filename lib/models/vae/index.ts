export { AutoencoderKL, LatentDistribution, VAELoadOptions } from './autoencoder-kl';
export { VAEConfig, VAE_DEFAULTS, resolveVAEConfig } from './config';
export { renameLegacyVAEKey } from './legacy-names';
export { upsampleNearest2x } from './resampling';
