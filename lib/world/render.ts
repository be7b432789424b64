/**
 * The renderer: a subject (catalogue identity + pose) composited over a procedural background.
 *
 * Steps of renderScene:
 *   1. background: every pixel from the background shader (seeded by `seed`);
 *   2. subject: inside the subject's bounding circle, S×S supersamples per pixel are mapped into the
 *      subject's local frame (translate, un-rotate, un-scale) and hit-tested; hits are coloured by role
 *      and pattern, shaded with a fixed upper-left light (Lambert + Blinn highlight, analytic normals);
 *   3. composite: pixel = (Σ hit colours + (S² − hits)·background) / S², mask = (hits > 0).
 * So the mask is exactly the set of pixels the subject touched, and every pixel outside it is
 * byte-for-byte the background render — the property SAM-prompt tests and DETEX's masked losses need.
 */
import { Rng } from '../random';
import { HostTensor } from '../io/host-tensor';
import { BACKGROUNDS, BackgroundKind, backgroundShader, isBackground, toByte } from './backgrounds';
import { CLASS_DEFS, Hit, Role } from './subjects';
import { PALETTE } from './palette';
import { patternHit, patternIndex } from './patterns';
import { Pose, poseWords, samplePose } from './pose';
import { SubjectIdentity, Split, heldOutSubjects, parseSubjectId, subjectId, trainIdentities } from './catalogue';
import { classCaption, fullCaption, shortCaption } from './caption';
import { SceneFilter, filterIdentities } from './scene-filter';

export interface SceneSpec {
  subject: SubjectIdentity;
  pose: Pose;
  background: BackgroundKind;
}

export interface RenderOptions {
  /** image side in pixels, 32..256 (default 64) */
  size?: number;
  /** seeds the background texture (default 0) */
  seed?: number;
  /** supersamples per pixel side (default 3 up to 96 px, 2 above: same smoothness per object) */
  supersample?: number;
}

export interface SceneAttributes {
  class: string;
  colour: string;
  pattern: string;
  secondary: string;
  detail: string;
  view: string;
  /** [primary, ...]: the primary one is in the caption */
  pose: string[];
  background: BackgroundKind;
}

export interface RenderedScene {
  /** uint8 [H, W, 3] */
  image: HostTensor;
  /** uint8 [H, W]: 1 on the subject (every pixel it touched), 0 elsewhere */
  mask: HostTensor;
  caption: string;
  shortCaption: string;
  classCaption: string;
  attributes: SceneAttributes;
  subjectId: string;
  spec: SceneSpec;
  seed: number;
  size: number;
  /** mask pixel count */
  area: number;
  /** mask bounding box [x0, y0, x1, y1] in pixel-edge coordinates (x1, y1 exclusive): SAM's XYXY box */
  box: [number, number, number, number];
  /** mean of mask pixel centres [x, y] (may lie off the mask, e.g. in a ring's hole) */
  centroid: [number, number];
  /** the mask pixel centre nearest the centroid [x, y]: a safe SAM point prompt */
  point: [number, number];
}

// Fixed light from the upper left, towards the viewer; H is the Blinn half vector with the view (0, 0, 1).
const L = normalise(-0.5, -0.65, 0.6);
const H = normalise(L[0], L[1], L[2] + 1);

function normalise(x: number, y: number, z: number): [number, number, number] {
  const k = 1 / Math.hypot(x, y, z);
  return [x * k, y * k, z * k];
}

type RGB = readonly [number, number, number];

function luminance(c: RGB): number {
  return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
}

/** The flat colour and glossiness of each role for one identity. */
function rolePalette(s: SubjectIdentity): { colours: RGB[]; gloss: number[] } {
  const body = PALETTE[s.colour];
  const second = s.secondary === 'none' ? body : PALETTE[s.secondary];
  const dark = luminance(body) < 80;
  const colours: RGB[] = [];
  const gloss: number[] = [];
  const set = (role: number, c: RGB, g: number): void => {
    colours[role] = c;
    gloss[role] = g;
  };
  set(Role.Body, body, 0.35);
  set(Role.Trim, body, 0.35);
  set(Role.Inner, [body[0] * 0.45, body[1] * 0.45, body[2] * 0.45], 0);
  set(Role.EyeWhite, [246, 246, 246], 0.2);
  set(Role.Pupil, [20, 20, 26], 0.4);
  set(Role.Cap, dark ? [200, 200, 206] : [72, 72, 80], 0.5);
  set(Role.Gem, [175, 232, 252], 0.9);
  set(Role.Cork, [178, 132, 86], 0);
  set(Role.Mark, dark ? [215, 215, 215] : [body[0] * 0.38, body[1] * 0.38, body[2] * 0.38], 0);
  set(Role.Emblem, luminance(body) > 140 ? [40, 40, 46] : [246, 246, 240], 0.2);
  // index 0 is the pattern's secondary colour on Body samples
  colours[0] = second;
  gloss[0] = 0.35;
  return { colours, gloss };
}

function checkSize(size: number): void {
  if (!Number.isInteger(size) || size < 32 || size > 256) throw new Error(`world: size must be an integer in 32..256, got ${size}`);
}

/** Renders one scene. Deterministic: the same (spec, size, seed, supersample) gives the same bytes. */
export function renderScene(spec: SceneSpec, opts: RenderOptions = {}): RenderedScene {
  const size = opts.size ?? 64;
  const seed = opts.seed ?? 0;
  checkSize(size);
  if (!isBackground(spec.background)) throw new Error(`world: unknown background "${spec.background}" (known: ${BACKGROUNDS.join(', ')})`);
  const ss = opts.supersample ?? (size <= 96 ? 3 : 2);
  const { subject, pose } = spec;
  const id = subjectId(subject);
  parseSubjectId(id); // validates the identity
  const def = CLASS_DEFS[subject.cls];
  const view = def.views.indexOf(pose.view);
  if (view < 0) throw new Error(`world: ${subject.cls} view must be one of ${def.views.join(', ')}, got "${pose.view}"`);
  const detail = def.details.indexOf(subject.detail);

  // 1. background, kept as floats so partly covered pixels blend before rounding once
  const rng = new Rng(seed);
  const shader = backgroundShader(spec.background, rng.fork('background'));
  const n = size * size;
  const bg = new Float32Array(n * 3);
  const c = new Float64Array(3);
  const inv = 1 / size;
  for (let py = 0, o = 0; py < size; py++) {
    const y = (py + 0.5) * inv;
    for (let px = 0; px < size; px++, o += 3) {
      shader((px + 0.5) * inv, y, c);
      bg[o] = c[0];
      bg[o + 1] = c[1];
      bg[o + 2] = c[2];
    }
  }
  const image = new Uint8Array(n * 3);
  for (let i = 0; i < n * 3; i++) image[i] = toByte(bg[i]);
  const mask = new Uint8Array(n);

  // 2. subject
  const sx = pose.scale * Math.sqrt(pose.aspect);
  const sy = pose.scale / Math.sqrt(pose.aspect);
  const rad = (pose.rotation * Math.PI) / 180;
  const cos = Math.cos(rad);
  const sin = Math.sin(rad);
  const isx = 1 / sx;
  const isy = 1 / sy;
  const reach = def.extent * Math.max(sx, sy);
  const x0 = Math.max(0, Math.floor((pose.x - reach) * size));
  const x1 = Math.min(size - 1, Math.ceil((pose.x + reach) * size));
  const y0 = Math.max(0, Math.floor((pose.y - reach) * size));
  const y1 = Math.min(size - 1, Math.ceil((pose.y + reach) * size));
  const { colours, gloss } = rolePalette(subject);
  const pat = patternIndex(subject.pattern);
  const h: Hit = { role: 0, nx: 0, ny: 0, nz: 1, u: 0, v: 0 };
  const s2 = ss * ss;
  const reachPx2 = (reach + 0.75 * inv) ** 2; // + half a pixel diagonal
  for (let py = y0; py <= y1; py++) {
    const cdy = (py + 0.5) * inv - pose.y;
    for (let px = x0; px <= x1; px++) {
      // the bounding box's corners lie outside the bounding circle: skip them without hit tests
      const cdx = (px + 0.5) * inv - pose.x;
      if (cdx * cdx + cdy * cdy > reachPx2) continue;
      let hits = 0;
      let r = 0;
      let g = 0;
      let b = 0;
      for (let j = 0; j < ss; j++) {
        const dy = (py + (j + 0.5) / ss) * inv - pose.y;
        for (let i = 0; i < ss; i++) {
          const dx = (px + (i + 0.5) / ss) * inv - pose.x;
          const lx = (cos * dx + sin * dy) * isx;
          const ly = (cos * dy - sin * dx) * isy;
          if (!def.hit(lx, ly, view, detail, h)) continue;
          hits++;
          const role = h.role === Role.Body && pat > 0 && patternHit(pat, h.u, h.v) ? 0 : h.role;
          const base = colours[role];
          // normal back to image space (rotate by +rotation)
          const nx = cos * h.nx - sin * h.ny;
          const ny = sin * h.nx + cos * h.ny;
          const ndl = Math.max(0, nx * L[0] + ny * L[1] + h.nz * L[2]);
          const ndh = Math.max(0, nx * H[0] + ny * H[1] + h.nz * H[2]);
          const shade = 0.5 + 0.6 * ndl;
          // Blinn exponent 24 by squaring (Math.pow is the costliest call in this loop)
          const n3 = ndh * ndh * ndh;
          const n6 = n3 * n3;
          const n12 = n6 * n6;
          const spec = gloss[role] * n12 * n12 * 255;
          r += base[0] * shade + spec;
          g += base[1] * shade + spec;
          b += base[2] * shade + spec;
        }
      }
      if (hits === 0) continue;
      // 3. composite the covered fraction over the background
      const p = py * size + px;
      const o = p * 3;
      const miss = s2 - hits;
      image[o] = toByte((r + miss * bg[o]) / s2);
      image[o + 1] = toByte((g + miss * bg[o + 1]) / s2);
      image[o + 2] = toByte((b + miss * bg[o + 2]) / s2);
      mask[p] = 1;
    }
  }

  const words = poseWords(subject.cls, pose);
  const geo = maskGeometry(mask, size);
  return {
    image: { dtype: 'uint8', shape: [size, size, 3], data: image },
    mask: { dtype: 'uint8', shape: [size, size], data: mask },
    caption: fullCaption(subject, words[0], spec.background),
    shortCaption: shortCaption(subject),
    classCaption: classCaption(subject),
    attributes: {
      class: subject.cls,
      colour: subject.colour,
      pattern: subject.pattern,
      secondary: subject.secondary,
      detail: subject.detail,
      view: pose.view,
      pose: words,
      background: spec.background,
    },
    subjectId: id,
    spec,
    seed,
    size,
    ...geo,
  };
}

/** Area, XYXY box, centroid and an on-mask point prompt of a [size, size] mask. */
export function maskGeometry(mask: Uint8Array, size: number): Pick<RenderedScene, 'area' | 'box' | 'centroid' | 'point'> {
  let area = 0;
  let sx = 0;
  let sy = 0;
  let bx0 = size;
  let by0 = size;
  let bx1 = -1;
  let by1 = -1;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (!mask[y * size + x]) continue;
      area++;
      sx += x + 0.5;
      sy += y + 0.5;
      if (x < bx0) bx0 = x;
      if (x > bx1) bx1 = x;
      if (y < by0) by0 = y;
      if (y > by1) by1 = y;
    }
  }
  if (area === 0) return { area, box: [0, 0, 0, 0], centroid: [size / 2, size / 2], point: [size / 2, size / 2] };
  const cx = sx / area;
  const cy = sy / area;
  let best = Infinity;
  let point: [number, number] = [cx, cy];
  for (let y = by0; y <= by1; y++) {
    for (let x = bx0; x <= bx1; x++) {
      if (!mask[y * size + x]) continue;
      const d = (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2;
      if (d < best) {
        best = d;
        point = [x + 0.5, y + 0.5];
      }
    }
  }
  return { area, box: [bx0, by0, bx1 + 1, by1 + 1], centroid: [cx, cy], point };
}

export interface RandomSceneOptions extends Omit<RenderOptions, 'seed'> {
  /** which identities to draw from (default 'train') */
  split?: Split;
  /** pose the subject larger than the world's range (samplePose's closeUp) */
  closeUp?: boolean;
  /** draw only the identities and backgrounds this filter allows (scene-filter.ts; default the whole split, every background) */
  only?: SceneFilter;
}

/** A random scene's draws, not yet rendered: what `randomScene` renders, and what pattern sets vary. */
export interface DrawnScene {
  spec: SceneSpec;
  /** renderScene's options, the texture seed included */
  render: RenderOptions;
}

/** Draws an identity of the split, a background, a pose and a texture seed from `rng`, in that order. */
export function drawScene(rng: Rng, opts: RandomSceneOptions = {}): DrawnScene {
  const split = opts.split ?? 'train';
  const pool = filterIdentities(split === 'heldout' ? heldOutSubjects() : trainIdentities(), opts.only, split);
  const allowed = opts.only?.backgrounds;
  // in the world's order whatever the filter's, so a filter draws the same scenes however it is written
  const kinds = BACKGROUNDS.filter((k) => !allowed || allowed.includes(k));
  if (kinds.length === 0) throw new Error('world: randomScene needs at least one background');
  const subject = pool[rng.int(pool.length)];
  const background = kinds[rng.int(kinds.length)];
  const pose = samplePose(subject.cls, rng, undefined, opts.closeUp);
  const seed = rng.int(0x7fffffff);
  const { split: _split, closeUp: _closeUp, only: _only, ...render } = opts;
  return { spec: { subject, pose, background }, render: { ...render, seed } };
}

/** Draws an identity of the split, a pose and a background from `rng`, then renders it. */
export function randomScene(rng: Rng, opts: RandomSceneOptions = {}): RenderedScene {
  const { spec, render } = drawScene(rng, opts);
  return renderScene(spec, render);
}

/**
 * n photos of one identity with different poses, views and backgrounds: a DETEX training set.
 * Backgrounds go through a seeded shuffle of all kinds before any repeats; views cycle so both
 * appear whenever n ≥ 2.
 */
export function subjectPhotos(id: string, n: number, seed: number, opts: Omit<RenderOptions, 'seed'> = {}): RenderedScene[] {
  if (!Number.isInteger(n) || n < 1) throw new Error(`world: subjectPhotos needs n ≥ 1, got ${n}`);
  const subject = parseSubjectId(id);
  const views = CLASS_DEFS[subject.cls].views;
  const rng = new Rng(seed).fork(`photos:${id}`);
  const order = [...BACKGROUNDS];
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const viewStart = rng.int(views.length);
  const out: RenderedScene[] = [];
  for (let k = 0; k < n; k++) {
    const r = rng.fork(k);
    const pose = samplePose(subject.cls, r, views[(viewStart + k) % views.length]);
    out.push(renderScene({ subject, pose, background: order[k % order.length] }, { ...opts, seed: r.int(0x7fffffff) }));
  }
  return out;
}
