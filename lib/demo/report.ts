/** The demo's one-page HTML report: photos and masks, the loss curve, the generated grid, timings. */
import { writeFileAtomic } from '../io/atomic-write';
import { WORLD_ATTRIBUTES } from '../metrics/world-attributes';
import { Expected, ImageRead } from './world-read';

export interface ReportPhoto {
  file: string;
  maskFile: string;
  caption: string;
  /** IoU of the SAM mask against the renderer's exact mask */
  maskIoU: number;
}

export interface ReportRow {
  group: string;
  prompt: string;
  files: string[];
  /** what the prompt asks the image to show, and what the world classifier saw in each file */
  expected?: Expected;
  reads?: ImageRead[];
}

export interface ReportData {
  title: string;
  modelNote: string;
  subject: string;
  className: string;
  photos: ReportPhoto[];
  losses: Array<{ step: number; loss: number }>;
  rows: ReportRow[];
  timings: Array<[string, number]>;
  backend: string;
  /** the world classifier's tally over all generated images ("colour 10/12, …") */
  worldRead?: string;
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** A loss curve as inline SVG (no script, no external asset: the report works offline). */
export function lossCurveSvg(points: Array<{ step: number; loss: number }>, width = 480, height = 160): string {
  if (!points.length) return '<p>no training steps</p>';
  const pad = 30;
  const steps = points.map((p) => p.step);
  const losses = points.map((p) => p.loss);
  const [x0, x1] = [Math.min(...steps), Math.max(...steps)];
  const [y0, y1] = [Math.min(...losses), Math.max(...losses)];
  const sx = (s: number) => pad + ((s - x0) / Math.max(1, x1 - x0)) * (width - 2 * pad);
  const sy = (l: number) => height - pad - ((l - y0) / Math.max(1e-12, y1 - y0)) * (height - 2 * pad);
  const path = points.map((p, i) => `${i ? 'L' : 'M'}${sx(p.step).toFixed(1)},${sy(p.loss).toFixed(1)}`).join(' ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="training loss">
<rect width="100%" height="100%" fill="#fff" stroke="#ccc"/>
<path d="${path}" fill="none" stroke="#c0392b" stroke-width="1.5"/>
<text x="${pad}" y="14" font-size="11">loss ${y1.toPrecision(3)}</text>
<text x="${pad}" y="${height - 8}" font-size="11">step ${x0}</text>
<text x="${width - pad}" y="${height - 8}" font-size="11" text-anchor="end">step ${x1} · loss ${losses[losses.length - 1].toPrecision(3)}</text>
</svg>`;
}

export function renderReport(d: ReportData): string {
  const img = (f: string, alt: string) => `<img src="${esc(f)}" alt="${esc(alt)}" title="${esc(alt)}">`;
  const photos = d.photos
    .map((p, i) => `<figure>${img(p.file, p.caption)}${img(p.maskFile, `SAM mask ${i + 1}`)}<figcaption>[P_${i + 1}] [B_${i + 1}] · SAM IoU ${p.maskIoU.toFixed(2)}<br>${esc(p.caption)}</figcaption></figure>`)
    .join('\n');
  const shown = (r: ReportRow, i: number) => {
    const read = r.reads?.[i];
    if (!read) return img(r.files[i], r.prompt);
    const words = WORLD_ATTRIBUTES.map((a) => (read.ok[a] === undefined ? esc(read.seen[a]) : `<span class="${read.ok[a] ? 'ok' : 'bad'}">${esc(read.seen[a])}</span>`));
    return `<figure class="gen">${img(r.files[i], r.prompt)}<figcaption>${words.join(' · ')}</figcaption></figure>`;
  };
  const asked = (r: ReportRow) => (r.expected ? `<br><span class="asked">asks: ${esc(WORLD_ATTRIBUTES.filter((a) => r.expected![a]).map((a) => r.expected![a]).join(' · '))}</span>` : '');
  const rows = d.rows
    .map((r) => `<tr><th>${esc(r.group)}</th><td class="prompt">${esc(r.prompt)}${asked(r)}</td><td>${r.files.map((_, i) => shown(r, i)).join('')}</td></tr>`)
    .join('\n');
  const readNote = d.worldRead
    ? `<p>Under each image, what the model's world attribute classifier sees (class · colour · pattern · background); green where it is what the prompt asks for, red where not. Over all images: ${esc(d.worldRead)}.</p>`
    : '';
  const timings = d.timings.map(([k, ms]) => `<li>${esc(k)}: ${(ms / 1000).toFixed(1)} s</li>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(d.title)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;max-width:1100px}
img{width:128px;height:128px;image-rendering:pixelated;margin:2px;border:1px solid #ddd}
figure{display:inline-block;margin:0 12px 12px 0;vertical-align:top;width:270px}
figcaption{font-size:12px;color:#444}
table{border-collapse:collapse}th,td{border-top:1px solid #eee;padding:6px;text-align:left;vertical-align:top}
td.prompt{font-family:monospace;font-size:12px;max-width:260px}
.note{background:#fff6d6;border:1px solid #e6c200;padding:8px}
figure.gen{width:auto;margin:0 4px 4px 0}figure.gen figcaption{font-size:11px;max-width:132px}
.ok{color:#1e7b34}.bad{color:#b3261e;font-weight:600}.asked{color:#666;font-family:system-ui,sans-serif}
</style></head><body>
<h1>${esc(d.title)}</h1>
<p class="note">${esc(d.modelNote)}</p>
<p>Subject <b>${esc(d.subject)}</b> (class “${esc(d.className)}”), compute backend ${esc(d.backend)}.</p>
<h2>Training photos and SAM masks</h2>
${photos}
<h2>Training loss</h2>
${lossCurveSvg(d.losses)}
<h2>Generated</h2>
${readNote}
<table>${rows}</table>
<h2>Timings</h2><ul>${timings}</ul>
</body></html>
`;
}

export function writeReport(file: string, d: ReportData): void {
  writeFileAtomic(file, renderReport(d));
}
