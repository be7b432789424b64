/** The quality benchmark (issue 8): DETEX vs Custom Diffusion and the ablations on the procedural world. */
export { runBenchQuality, BenchOptions, BenchResult, SCORE_KEYS } from './run';
export { BenchSettings, METHODS, METHOD_LABELS, QUICK, FULL, defaultSettings, defaultBenchModel } from './config';
export { editingPrompts, EditPrompt } from './prompts';
export { meanStd, aggregate, markdownTable, formatStat } from './aggregate';
export { judge, oracle } from './oracle';
