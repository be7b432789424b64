/**
 * The benchmark's outputs: `table.md` (the paper-style tables), `results.json` (everything: settings, per-cell
 * and per-prompt scores, oracle read-outs, aggregates, timings), `report.md` and `report.html` (tables, grids,
 * the attention-map figure, the paper's numbers for reference, what each score is).
 */
import * as fs from 'fs';
import * as path from 'path';
import { MODEL_DEFAULTS_FILE, ModelTrainingDefaults, readModelTrainingDefaults } from '../detex/model-defaults';
import { BenchSettings, METHOD_LABELS, ModelChoice } from './config';
import { Aggregate, markdownTable } from './aggregate';
import { CellRecord, writeJsonAtomic } from './cache';
import { EditPrompt } from './prompts';
import { pairedTable } from './paired';

export interface ReportInput {
  model: ModelChoice;
  settings: BenchSettings;
  backend: string;
  featureName: string;
  clipTNote?: string;
  subjects: Array<{ id: string; maskIoU: number[]; prompts: EditPrompt[]; photos: string[] }>;
  cells: CellRecord[];
  aggregate: Aggregate;
  grids: string[];
  /** per subject: rows = methods */
  compare: string[];
  attention?: { file: string; prompt: string; tokens: Array<{ label: string; token: string; max: number; mean: number }> };
  seconds: number;
  computed: number;
}

/** The paper's numbers (detex-spec.md) for reference. */
export const PAPER = {
  table1: {
    detex: { 'clip-t': 0.3249, 'clip-i': 0.7824, 'clip-i-fg': 0.7688, 'dino-i': 0.6504, 'dino-i-fg': 0.6121 },
    'custom-diffusion': { 'clip-t': 0.3143, 'clip-i': 0.787, 'clip-i-fg': 0.7553, 'dino-i': 0.6602, 'dino-i-fg': 0.597 },
  },
  table3: {
    'no-mappers': { 'clip-t': 0.3295, 'clip-i-fg': 0.7563, 'dino-i-fg': 0.5789 },
    'no-attention-loss': { 'clip-t': 0.3287, 'clip-i-fg': 0.7548, 'dino-i-fg': 0.5766 },
    'no-joint-training': { 'clip-t': 0.3327, 'clip-i-fg': 0.7403, 'dino-i-fg': 0.5625 },
    detex: { 'clip-t': 0.3301, 'clip-i-fg': 0.7695, 'dino-i-fg': 0.5797 },
  },
} as const;

const T1_COLS = [
  { key: 'clip-t', label: 'CLIP-T' }, { key: 'clip-i', label: 'CLIP-I' }, { key: 'clip-i-fg', label: 'CLIP-I(FG)' },
  { key: 'dino-i', label: 'DINO-I*' }, { key: 'dino-i-fg', label: 'DINO-I*(FG)' },
];
const T3_COLS = [{ key: 'clip-t', label: 'CLIP-T' }, { key: 'clip-i-fg', label: 'CLIP-I(FG)' }, { key: 'dino-i-fg', label: 'DINO-I*(FG)' }];
const ORACLE_COLS = [
  { key: 'bg-acc', label: 'background right' }, { key: 'colour-acc', label: 'colour right' },
  { key: 'colour-kept', label: 'own colour kept' }, { key: 'recolour', label: 'new colour' },
  { key: 'bg-prob', label: 'p(asked background)' }, { key: 'subject-found', label: 'subject found by SAM' },
];

const PAIRED_COLS = [...T1_COLS, { key: 'bg-acc', label: 'background right' }, { key: 'colour-kept', label: 'own colour kept' }];
const ALIGNMENT_COLS = [
  { key: 'attn-pose-on-subject', label: '[P_i] attention on the subject' },
  { key: 'attn-background-off-subject', label: '[B_i] attention off the subject' },
  { key: 'subject-area', label: 'subject area (uniform map)', higherIsBetter: false },
];

function rowsFor(methods: readonly string[], wanted: readonly string[]) {
  return wanted.filter((m) => methods.includes(m)).map((m) => ({ key: m, label: METHOD_LABELS[m as keyof typeof METHOD_LABELS] ?? m }));
}

export function tablesMarkdown(r: Pick<ReportInput, 'aggregate' | 'settings' | 'cells'>): string {
  const methods = r.settings.methods;
  const n = new Set(r.cells.map((c) => `${c.subject}:${c.seed}`)).size;
  const t1 = rowsFor(methods, ['custom-diffusion', 'detex']);
  const t3 = rowsFor(methods, ['no-mappers', 'no-attention-loss', 'no-joint-training', 'detex']);
  const all = rowsFor(methods, ['detex', 'custom-diffusion', 'no-mappers', 'no-attention-loss', 'no-joint-training']);
  const parts = [
    `Mean ± sample std over ${n} (subject, seed) cells; each cell is the mean over its prompts × images. DINO-I* = the DINO-I-like score (see below). Bold = best per column.`,
    '',
    '**Table 1 (DETEX vs Custom Diffusion)**',
    '',
    markdownTable(r.aggregate, t1, T1_COLS),
    '',
    '**Table 3 (ablations)**',
    '',
    markdownTable(r.aggregate, t3, T3_COLS),
    '',
    `**Paired: DETEX minus each method** on the same (subject, seed) cells — same photos, prompts and initial noise: mean ± std of the differences (cells favouring DETEX / cells, paired t)`,
    '',
    pairedTable(r.cells, { key: 'detex', label: 'DETEX' }, all.filter((x) => x.key !== 'detex'), PAIRED_COLS),
    '',
    '**World oracle (fraction of generated images)**',
    '',
    markdownTable(r.aggregate, all, ORACLE_COLS, 3),
  ];
  const aligned = rowsFor(methods, ['detex', 'no-mappers', 'no-attention-loss', 'no-joint-training']).filter((x) => r.aggregate[x.key]?.['attn-pose-on-subject']);
  if (aligned.length) {
    parts.push(
      '',
      '**Attention alignment on the training photos** (what L_CA asks for: share of [P_i]\'s attention mass on photo i\'s subject mask and of [B_i]\'s off it; photo noised at t = 200, 400, 600, 800, training prompt, attn2 maps at the L_CA resolution; a map blind to the image scores the subject area on [P] and 1 − area on [B])',
      '',
      markdownTable(r.aggregate, aligned, ALIGNMENT_COLS, 3),
    );
  }
  return parts.join('\n');
}

function paperMarkdown(): string {
  const f = (v: number) => v.toFixed(4);
  return [
    '| Paper (SD v1.4, DreamBench) | CLIP-T | CLIP-I | CLIP-I(FG) | DINO-I | DINO-I(FG) |',
    '|---|---:|---:|---:|---:|---:|',
    ...(['custom-diffusion', 'detex'] as const).map((m) => {
      const p = PAPER.table1[m];
      return `| ${METHOD_LABELS[m]} (Table 1) | ${f(p['clip-t'])} | ${f(p['clip-i'])} | ${f(p['clip-i-fg'])} | ${f(p['dino-i'])} | ${f(p['dino-i-fg'])} |`;
    }),
    ...(['no-mappers', 'no-attention-loss', 'no-joint-training', 'detex'] as const).map((m) => {
      const p = PAPER.table3[m];
      return `| ${METHOD_LABELS[m]} (Table 3) | ${f(p['clip-t'])} | — | ${f(p['clip-i-fg'])} | — | ${f(p['dino-i-fg'])} |`;
    }),
  ].join('\n');
}

/** The rates the bench leaves to the model's detex_config.json (it sets the K/V rate itself). */
function modelTuning(folder: string): string {
  let d: ModelTrainingDefaults;
  try {
    d = readModelTrainingDefaults(folder);
  } catch (e) {
    return ` (the model's ${MODEL_DEFAULTS_FILE} is unreadable: ${(e as Error).message})`;
  }
  const parts = [d.embeddingLearningRate && `[V] ${d.embeddingLearningRate}`, d.mapperLearningRate && `mappers ${d.mapperLearningRate}`].filter(Boolean);
  return parts.length ? ` (K/V; ${parts.join(', ')} from the model's ${MODEL_DEFAULTS_FILE})` : '';
}

function settingsLines(r: ReportInput): string[] {
  const s = r.settings;
  return [
    `- Model: \`${r.model.folder}\` — ${r.model.note}`,
    `- Backend: ${r.backend}; wall time ${(r.seconds / 60).toFixed(1)} min (${r.computed} cells computed, ${r.cells.length - r.computed} from the cache)`,
    `- Subjects (held-out): ${s.subjects.join(', ')}; ${s.photos} photos each (data seed ${s.dataSeed}), masks from the model's SAM with the world's point prompt (IoU with the exact mask: ${r.subjects.map((x) => (x.maskIoU.reduce((a, b) => a + b, 0) / x.maskIoU.length).toFixed(2)).join(', ')})`,
    `- Training: ${s.trainSteps} steps, batch ${s.batchSize}, lr ${s.learningRate}${modelTuning(r.model.folder)}, ${s.numClassImages} class images (${s.classImageSteps} DDIM steps), seeds ${s.seeds.join(', ')}; every other setting the paper's (γ 0.5, λ_pr 1, λ_CA 0.01, CA at latent/2); attribute word "pose" (the world's captions)`,
    `- Sampling: ${s.imagesPerPrompt} image(s) per prompt, ${s.sampleSteps} DDIM steps, guidance ${s.guidance}; sampling seeds 1000·seed + prompt index, the same for every method`,
    `- DINO-I* features: ${r.featureName}`,
    ...(r.clipTNote ? [`- ${r.clipTNote}`] : []),
  ];
}

function explain(): string[] {
  return [
    '- CLIP-T: cosine of the generated image\'s CLIP image embedding with the CLIP text embedding of the prompt without pseudo-words (the model\'s own `text_encoder` with its `text_projection`).',
    '- CLIP-I / CLIP-I(FG): mean cosine of generated and training photos\' CLIP image embeddings (FG: photos with the background blacked out by their SAM mask).',
    '- DINO-I* / DINO-I*(FG): the same with the DINO-I-like features named above.',
    '- Oracle: SAM (one point at the image centre) masks the generated subject; `estimateBackground` must name the asked-for background and `estimateColour` inside the mask the expected body colour (the subject\'s own, or the prompt\'s new colour): **colour right** over all prompts, **own colour kept** over the background and pose prompts, **new colour** over the recolouring prompt. A mask under 1 % or over 90 % of the image = no subject found (colour wrong, background read from the border frame).',
  ];
}

export function writeReports(out: string, r: ReportInput): { markdown: string; json: string; html: string; table: string } {
  const table = path.join(out, 'table.md');
  const json = path.join(out, 'results.json');
  const markdown = path.join(out, 'report.md');
  const html = path.join(out, 'report.html');
  const tables = tablesMarkdown(r);
  const warn = r.model.meaningful ? [] : [`> **${r.model.note}**`, ''];
  fs.writeFileSync(table, [...warn, tables, ''].join('\n'));
  writeJsonAtomic(json, {
    model: r.model, backend: r.backend, settings: r.settings, featureName: r.featureName, clipTNote: r.clipTNote ?? null,
    seconds: r.seconds, computed: r.computed, subjects: r.subjects, aggregate: r.aggregate, cells: r.cells, grids: r.grids, compare: r.compare, attention: r.attention ?? null, paper: PAPER,
  });
  const promptLines = r.subjects.map((x) => `- ${x.id}: ${x.prompts.map((p) => `\`${p.template}\``).join(', ')}`);
  const md = [
    '# DETEX quality benchmark',
    '',
    ...warn,
    ...settingsLines(r),
    '',
    '## Results',
    '',
    tables,
    '',
    '## The paper, for reference',
    '',
    paperMarkdown(),
    '',
    '## Scores',
    '',
    ...explain(),
    '',
    '## Editing prompts',
    '',
    ...promptLines,
    '',
    '## Grids',
    '',
    'Rows: subjects; first column: training photo 1; then the first image of each editing prompt, in the order above.',
    '',
    ...r.grids.map((g) => `### ${METHOD_LABELS[path.basename(g, '.png') as keyof typeof METHOD_LABELS] ?? g}\n\n![${g}](${g})\n`),
    '## Methods side by side',
    '',
    `Rows: ${r.settings.methods.map((m) => METHOD_LABELS[m]).join(', ')}; columns as above.`,
    '',
    ...r.compare.map((g) => `### ${path.basename(g, '.png').replace(/^compare-/, '')}\n\n![${g}](${g})\n`),
    ...(r.attention
      ? [
        '## What the tokens attend to',
        '',
        `${r.attention.prompt}. Panels: ${r.attention.tokens.map((t) => `${t.label} (\`${t.token}\`, max ${t.max.toFixed(3)})`).join(', ')}; each map divided by its max, tinted over the image.`,
        '',
        `![attention](${r.attention.file})`,
        '',
      ]
      : []),
  ].join('\n');
  fs.writeFileSync(markdown, md);
  fs.writeFileSync(html, markdownToHtml(md));
  return { markdown, json, html, table };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Just enough Markdown for this report: headings, tables, lists, images, quotes, bold and code. */
export function markdownToHtml(md: string): string {
  const inline = (s: string) =>
    esc(s)
      .replace(/!\[([^\]]*)\]\(([^)]+)\)/g, '<img alt="$1" src="$2">')
      .replace(/\*\*([^*]+)\*\*/g, '<b>$1</b>')
      .replace(/`([^`]+)`/g, '<code>$1</code>');
  const lines = md.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l.startsWith('|')) {
      const rows: string[][] = [];
      while (i < lines.length && lines[i].startsWith('|')) {
        if (!/^\|[-:| ]+\|$/.test(lines[i])) rows.push(lines[i].slice(1, -1).split('|').map((c) => c.trim()));
        i++;
      }
      i--;
      out.push('<table>', `<tr>${rows[0].map((c) => `<th>${inline(c)}</th>`).join('')}</tr>`, ...rows.slice(1).map((r) => `<tr>${r.map((c) => `<td>${inline(c)}</td>`).join('')}</tr>`), '</table>');
    } else if (l.startsWith('#')) {
      const n = l.match(/^#+/)![0].length;
      out.push(`<h${n}>${inline(l.slice(n).trim())}</h${n}>`);
    } else if (l.startsWith('- ')) {
      out.push(`<li>${inline(l.slice(2))}</li>`);
    } else if (l.startsWith('> ')) {
      out.push(`<p class="warn">${inline(l.slice(2))}</p>`);
    } else if (l.trim()) {
      out.push(`<p>${inline(l)}</p>`);
    }
  }
  return [
    '<!doctype html><html><head><meta charset="utf-8"><title>DETEX quality benchmark</title>',
    '<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}img{image-rendering:pixelated;max-width:100%;min-width:256px}.warn{background:#fee;border:2px solid #c00;padding:8px;font-weight:bold}code{background:#f4f4f4}</style>',
    '</head><body>', ...out, '</body></html>',
  ].join('\n');
}
