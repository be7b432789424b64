/**
 * The named colour palette of the world: subject body and pattern colours, and the vocabulary the
 * oracle maps pixels back to. sRGB 0..255. The names are the caption words, so keep them single words.
 */

export const COLOURS = ['red', 'orange', 'yellow', 'green', 'blue', 'purple', 'pink', 'white', 'black', 'brown'] as const;
export type ColourName = (typeof COLOURS)[number];

/** Chosen far apart in Lab so shaded pixels still land nearest their own name (the oracle relies on it). */
export const PALETTE: Readonly<Record<ColourName, readonly [number, number, number]>> = {
  red: [205, 35, 35],
  orange: [240, 130, 25],
  yellow: [245, 215, 45],
  green: [45, 160, 60],
  blue: [40, 85, 205],
  purple: [130, 55, 175],
  pink: [245, 140, 190],
  white: [242, 242, 236],
  black: [32, 32, 38],
  brown: [125, 75, 38],
};

export function isColour(name: string): name is ColourName {
  return (COLOURS as readonly string[]).includes(name);
}

/** sRGB 0..255 → CIE L*a*b* (D65). Used to compare colours the way people name them, not by raw RGB. */
export function rgbToLab(r: number, g: number, b: number): [number, number, number] {
  const lin = (c: number): number => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
  };
  const R = lin(r);
  const G = lin(g);
  const B = lin(b);
  const X = (0.4124 * R + 0.3576 * G + 0.1805 * B) / 0.95047;
  const Y = 0.2126 * R + 0.7152 * G + 0.0722 * B;
  const Z = (0.0193 * R + 0.1192 * G + 0.9505 * B) / 1.08883;
  const f = (t: number): number => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
  const fx = f(X);
  const fy = f(Y);
  const fz = f(Z);
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}
