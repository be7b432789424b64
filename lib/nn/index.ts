export * from './params';
export * from './linear';
export * from './conv2d';
export * from './norms';
export * from './attention';
export * from './activations';
export * from './upsample';
