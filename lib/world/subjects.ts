/**
 * Subject classes as implicit shapes in their own local frame (object roughly in [-1, 1]², y down).
 *
 * A class answers one question per sample point: is (lx, ly) on the subject, and if so which part
 * (a `Role`, which decides the colour), what surface normal (for shading) and what surface
 * coordinates (for the pattern). The renderer supersamples these hard-edged tests, so edges are
 * anti-aliased and the mask ("any sample hit") is exactly the drawn subject, details included.
 *
 * Normals are analytic per class (sphere for the ball, cylinder for cup and bottle, tube for the ring,
 * faces for the cube, a dome for star and blob) — this is what makes the flat shapes read as objects.
 */

export const CLASSES = ['ball', 'cube', 'cup', 'star', 'ring', 'bottle', 'blob'] as const;
export type ClassName = (typeof CLASSES)[number];

export function isClass(name: string): name is ClassName {
  return (CLASSES as readonly string[]).includes(name);
}

/** Which colour a sample takes (see render.ts `roleColour`). */
export const Role = {
  Body: 1, // body colour, patterned
  Trim: 2, // body colour, never patterned (handles, rims, ears, necks)
  Inner: 3, // body colour darkened (cup inside, inner ear)
  EyeWhite: 4,
  Pupil: 5, // also mouths
  Cap: 6, // grey screw cap, contrasting with the body
  Gem: 7, // pale cyan, glossy
  Cork: 8,
  Mark: 9, // seams: a darker (or, on dark bodies, lighter) line
  Emblem: 10, // a contrasting white/black badge
} as const;

/** One sample's answer; reused (no allocation in the inner loop). */
export interface Hit {
  role: number;
  nx: number;
  ny: number;
  nz: number;
  u: number;
  v: number;
}

export interface ClassDef {
  /** identity detail variants (part of the subject id) */
  details: readonly string[];
  /** per-photo view variants (part of the pose); one entry when the class has none */
  views: readonly string[];
  /** caption words for the views, or null when the class has no view variants */
  viewWords: Readonly<Record<string, string>> | null;
  /** bound on |(lx, ly)| of any part, for the render bounding box */
  extent: number;
  hit(lx: number, ly: number, view: number, detail: number, h: Hit): boolean;
}

function setNormal(h: Hit, nx: number, ny: number, nz: number): void {
  const k = 1 / Math.sqrt(nx * nx + ny * ny + nz * nz);
  h.nx = nx * k;
  h.ny = ny * k;
  h.nz = nz * k;
}

/** Point-up star with n points: folds the angle into one half-spike and tests the edge tip→valley. */
export function inStar(x: number, y: number, n: number, ro: number, ri: number): boolean {
  const r = Math.sqrt(x * x + y * y);
  if (r > ro) return false;
  if (r <= ri) return true;
  const seg = Math.PI / n;
  const m = Math.atan2(x, -y) + 2 * Math.PI; // 0 = straight up
  const w = m % (2 * seg);
  const t = seg - Math.abs(w - seg); // angle from the nearest tip
  const px = r * Math.cos(t);
  const py = r * Math.sin(t);
  const vx = ri * Math.cos(seg) - ro;
  const vy = ri * Math.sin(seg);
  return vx * py - vy * (px - ro) >= 0;
}

const ball: ClassDef = {
  details: ['seam', 'emblem'],
  views: ['front'],
  viewWords: null,
  extent: 1.02,
  hit(lx, ly, _view, detail, h) {
    const r2 = lx * lx + ly * ly;
    if (r2 > 1) return false;
    const nz = Math.sqrt(1 - r2);
    setNormal(h, lx, ly, nz);
    h.role = Role.Body;
    h.u = lx;
    // bands bend towards the limb, as latitude lines do on a ball seen from a little above
    h.v = ly - 0.3 * (1 - nz);
    if (detail === 0) {
      // two curved seams, like a tennis ball's
      const a = Math.abs(Math.hypot(lx - 1.45, ly) - 1.1);
      const b = Math.abs(Math.hypot(lx + 1.45, ly) - 1.1);
      if (a < 0.05 || b < 0.05) h.role = Role.Mark;
    } else if (inStar(lx + 0.1, ly + 0.1, 5, 0.36, 0.16)) {
      h.role = Role.Emblem;
    }
    return true;
  },
};

const cube: ClassDef = {
  details: ['bare', 'emblem'],
  views: ['front', 'corner'],
  viewWords: { front: 'front view', corner: 'corner view' },
  extent: 1.2,
  hit(lx, ly, view, detail, h) {
    if (view === 0) {
      // one face: a rounded square with bevelled edges
      const ax = Math.abs(lx);
      const ay = Math.abs(ly);
      const qx = ax - 0.68;
      const qy = ay - 0.68;
      if (qx > 0 && qy > 0 ? qx * qx + qy * qy > 0.0196 : Math.max(qx, qy) > 0.14) return false;
      const e = 0.82 - Math.max(ax, ay);
      const k = e < 0.12 ? (1 - e / 0.12) * 0.8 : 0;
      setNormal(h, ax >= ay ? Math.sign(lx) * k : 0, ay > ax ? Math.sign(ly) * k : 0, 1);
      h.role = Role.Body;
      h.u = lx;
      h.v = ly;
      if (detail === 1 && ax + ay < 0.34) h.role = Role.Emblem;
      return true;
    }
    // oblique: front face, top face and right face (depth vector (0.42, -0.42))
    if (lx >= -0.85 && lx <= 0.4 && ly >= -0.4 && ly <= 0.85) {
      setNormal(h, 0, 0, 1);
      h.role = Role.Body;
      h.u = lx;
      h.v = ly;
      if (detail === 1 && Math.abs(lx + 0.225) + Math.abs(ly - 0.225) < 0.3) h.role = Role.Emblem;
      return true;
    }
    if (ly < -0.4 && ly >= -0.82) {
      const t = (-0.4 - ly) / 0.42;
      if (lx >= -0.85 + 0.42 * t && lx <= 0.4 + 0.42 * t) {
        setNormal(h, 0, -0.85, 0.55);
        h.role = Role.Body;
        h.u = lx - 0.42 * t;
        h.v = -0.4 - 1.25 * t;
        return true;
      }
    }
    if (lx > 0.4 && lx <= 0.82) {
      const t = (lx - 0.4) / 0.42;
      if (ly >= -0.4 - 0.42 * t && ly <= 0.85 - 0.42 * t) {
        setNormal(h, 0.85, 0, 0.55);
        h.role = Role.Body;
        h.u = 0.4 + 1.25 * t;
        h.v = ly + 0.42 * t;
        return true;
      }
    }
    return false;
  },
};

const CUP_TOP = -0.72;
const CUP_BOTTOM = 0.82;
const cup: ClassDef = {
  details: ['loop', 'tab'],
  views: ['right', 'left'],
  viewWords: { right: 'facing right', left: 'facing left' },
  extent: 1.25,
  hit(lx, ly, view, detail, h) {
    // 'left' is the mirror image; normals are mirrored back at the end
    const x = view === 1 ? -lx : lx;
    const y = ly;
    let hit = false;
    // 1. rim ellipse: a lip of body colour around a dark inside
    const ex = x / 0.72;
    const ey = (y - CUP_TOP) / 0.17;
    if (ex * ex + ey * ey <= 1) {
      const ix = x / 0.6;
      const iy = (y - CUP_TOP + 0.015) / 0.12;
      if (ix * ix + iy * iy <= 1) {
        h.role = Role.Inner;
        setNormal(h, 0, 0.3, 1);
      } else {
        h.role = Role.Trim;
        setNormal(h, ex * 0.5, -0.6, 0.6);
      }
      hit = true;
    } else if (y >= CUP_TOP && y <= CUP_BOTTOM) {
      // 2. body: a tapered cylinder with rounded bottom corners
      const hw = 0.72 - (0.16 * (y - CUP_TOP)) / (CUP_BOTTOM - CUP_TOP);
      const ax = Math.abs(x);
      let inside = ax <= hw;
      if (inside && y > CUP_BOTTOM - 0.18 && ax > hw - 0.18) {
        inside = Math.hypot(ax - (hw - 0.18), y - (CUP_BOTTOM - 0.18)) <= 0.18;
      }
      if (inside) {
        const nx = Math.max(-0.97, Math.min(0.97, x / hw));
        setNormal(h, nx, 0.1, Math.sqrt(1 - nx * nx));
        h.role = Role.Body;
        h.u = Math.asin(nx) * 0.7;
        h.v = y;
        hit = true;
      }
    }
    if (!hit && x > 0.55) {
      // 3. handle on the right (of the un-mirrored cup)
      if (detail === 0) {
        const dx = x - 0.68;
        const dy = y - 0.02;
        const r = Math.hypot(dx, dy);
        if (r >= 0.24 && r <= 0.42) {
          const t = (r - 0.33) / 0.09;
          setNormal(h, (dx / r) * t * 0.9, (dy / r) * t * 0.9, Math.sqrt(Math.max(0, 1 - 0.81 * t * t)));
          h.role = Role.Trim;
          hit = true;
        }
      } else if (x <= 1.08 && y >= -0.42 && y <= 0.38 && !(x <= 0.9 && y >= -0.24 && y <= 0.2)) {
        setNormal(h, 0.35, 0, 1);
        h.role = Role.Trim;
        hit = true;
      }
    }
    if (hit && view === 1) h.nx = -h.nx;
    return hit;
  },
};

const star: ClassDef = {
  details: ['five', 'six'],
  views: ['front'],
  viewWords: null,
  extent: 1.02,
  hit(lx, ly, _view, detail, h) {
    const inside = detail === 0 ? inStar(lx, ly, 5, 1, 0.46) : inStar(lx, ly, 6, 1, 0.56);
    if (!inside) return false;
    // a puffed cushion: the normal leans outwards with the distance from the centre
    setNormal(h, lx * 0.9, ly * 0.9, 1);
    h.role = Role.Body;
    h.u = lx;
    h.v = ly;
    return true;
  },
};

const RING_R = 0.7;
const RING_W = 0.25;
const ring: ClassDef = {
  details: ['gem', 'bare'],
  views: ['front', 'side'],
  viewWords: { front: 'front view', side: 'side view' },
  extent: 1.25,
  hit(lx, ly, view, detail, h) {
    const sq = view === 1 ? 2.3 : 1; // side view: the torus seen at a low angle
    if (detail === 0) {
      // 1. the gem sits on top and is not foreshortened
      const gy = -(RING_R + RING_W * 0.55) / sq - 0.12;
      const dx = lx;
      const dy = ly - gy;
      if (Math.abs(dx) + Math.abs(dy) * 0.8 <= 0.26) {
        setNormal(h, Math.sign(dx) * 0.5, Math.sign(dy) * 0.5, 1);
        h.role = Role.Gem;
        return true;
      }
    }
    // 2. the band: a tube around a circle of radius RING_R
    const x = lx;
    const y = ly * sq;
    const r = Math.hypot(x, y);
    const t = (r - RING_R) / RING_W;
    if (t < -1 || t > 1 || r === 0) return false;
    const nz = Math.sqrt(1 - t * t);
    setNormal(h, (x / r) * t, ((y / r) * t) / sq, nz);
    h.role = Role.Body;
    h.u = t * RING_W * 2;
    h.v = Math.atan2(y, x) * RING_R; // stripes cross the band like a candy ring
    return true;
  },
};

const bottle: ClassDef = {
  details: ['cap', 'cork'],
  views: ['standing', 'lying'],
  viewWords: { standing: 'standing', lying: 'lying down' },
  extent: 1.02,
  hit(lx, ly, view, detail, h) {
    // bottle frame (x across, y along, top at -y); lying = top pointing right
    const x = view === 1 ? ly : lx;
    const y = view === 1 ? -lx : ly;
    let hw = 0;
    let role: number = Role.Body;
    if (y >= -0.15 && y <= 0.95) {
      hw = 0.45;
      if (y > 0.81 && Math.abs(x) > 0.31 && Math.hypot(Math.abs(x) - 0.31, y - 0.81) > 0.14) return false;
    } else if (y >= -0.5 && y < -0.15) {
      const t = (y + 0.5) / 0.35; // round shoulder
      hw = 0.16 + 0.29 * Math.sqrt(t * (2 - t));
    } else if (y >= -0.72 && y < -0.5) {
      hw = 0.16;
      role = Role.Trim;
    } else if (detail === 0 && y >= -0.96 && y < -0.72) {
      hw = 0.2;
      role = Role.Cap;
    } else if (detail === 1 && y >= -0.92 && y < -0.72) {
      hw = 0.12 + 0.03 * ((y + 0.92) / 0.2);
      role = Role.Cork;
    } else {
      return false;
    }
    if (Math.abs(x) > hw) return false;
    const nx = Math.max(-0.97, Math.min(0.97, x / hw));
    const nz = Math.sqrt(1 - nx * nx);
    // rotate the bottle-frame normal (nx, 0.05) back to the local frame
    if (view === 1) setNormal(h, -0.05, nx, nz);
    else setNormal(h, nx, 0.05, nz);
    h.role = role;
    h.u = Math.asin(nx) * 0.5;
    h.v = y;
    return true;
  },
};

const blob: ClassDef = {
  details: ['ears', 'antenna'],
  views: ['front', 'side'],
  viewWords: { front: 'front view', side: 'side view' },
  extent: 1.22,
  hit(lx, ly, view, detail, h) {
    const ex = lx / 0.82;
    const ey = (ly - 0.12) / 0.78;
    const e2 = ex * ex + ey * ey;
    if (e2 <= 1) {
      // 1. the body, with a face turned by the view
      setNormal(h, ex, ey, Math.sqrt(1 - e2));
      h.role = Role.Body;
      h.u = lx;
      h.v = ly;
      const s = view === 1 ? 0.26 : 0;
      for (const side of [-1, 1]) {
        const squeeze = view === 1 && side < 0 ? 0.6 : 1; // the far eye is foreshortened
        const cx = side * 0.27 * (view === 1 && side < 0 ? 0.7 : 1) + s;
        const dx = (lx - cx) / squeeze;
        const dy = ly + 0.02;
        if (dx * dx + dy * dy <= 0.0225) {
          const px = dx - 0.03 - s * 0.2;
          const py = dy - 0.02;
          h.role = px * px + py * py <= 0.0064 ? Role.Pupil : Role.EyeWhite;
          return true;
        }
      }
      const mr = Math.hypot(lx - s * 1.1, ly - 0.12);
      if (ly > 0.2 && Math.abs(mr - 0.13) < 0.028) h.role = Role.Pupil;
      return true;
    }
    if (detail === 0) {
      // 2a. two round ears behind the body
      for (const side of [-1, 1]) {
        const dx = lx - side * 0.5;
        const dy = ly + 0.6;
        const r2 = dx * dx + dy * dy;
        if (r2 <= 0.0625) {
          setNormal(h, dx * 3, dy * 3, 1);
          h.role = r2 <= 0.016 ? Role.Inner : Role.Trim;
          return true;
        }
      }
      return false;
    }
    // 2b. an antenna: a stalk and a bobble
    const bx = lx - 0.14;
    const by = ly + 1.04;
    if (bx * bx + by * by <= 0.0169) {
      setNormal(h, bx * 6, by * 6, 1);
      h.role = Role.Trim;
      return true;
    }
    if (ly >= -1.0 && ly <= -0.55) {
      const sx = 0.14 * ((-0.55 - ly) / 0.45); // stalk leans right as it rises
      if (Math.abs(lx - sx) <= 0.045) {
        setNormal(h, (lx - sx) * 15, 0, 1);
        h.role = Role.Trim;
        return true;
      }
    }
    return false;
  },
};

export const CLASS_DEFS: Readonly<Record<ClassName, ClassDef>> = { ball, cube, cup, star, ring, bottle, blob };
