/**
 * The procedural image world: seeded renders of catalogue subjects on textured backgrounds, with exact
 * masks and captions. detex-mini is pretrained on the 'train' split; the demo and the benchmark
 * personalise the held-out subjects. See render.ts for the pipeline and catalogue.ts for the split.
 */
export * from './palette';
export * from './noise';
export * from './backgrounds';
export * from './patterns';
export * from './subjects';
export * from './catalogue';
export * from './pose';
export * from './caption';
export * from './render';
export * from './scene-filter';
export * from './pattern-sets';
export * from './oracle';
export * from './vocabulary';
