export * from './config';
export * from './torch-bicubic';
export * from './pos-embed';
export * from './block';
export * from './vision-transformer';
export * from './preprocess';
