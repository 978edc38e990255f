// Screen-space selection (box and lasso), the same in 2D and 3D: every point is projected with
// the viewport's pixel projection matrix (world -> CSS pixels, top-left origin, what deck.gl's
// Viewport.project uses) and tested against the drawn shape. Points behind the camera (w <= 0)
// are never selected. One pass over a Float32Array, no per-point objects.

export function projectAll(
  matrix: ArrayLike<number>, positions: Float32Array, dims: number, depth?: Float32Array,
): Float32Array {
  const n = (positions.length / dims) | 0;
  const xy = new Float32Array(2 * n);
  const m = matrix;
  for (let i = 0, p = 0; i < n; i++, p += dims) {
    const x = positions[p], y = positions[p + 1], z = dims === 3 ? positions[p + 2] : 0;
    const w = m[3] * x + m[7] * y + m[11] * z + m[15];
    if (depth) depth[i] = w;
    if (w <= 1e-9) {
      xy[2 * i] = NaN;
      xy[2 * i + 1] = NaN;
      continue;
    }
    xy[2 * i] = (m[0] * x + m[4] * y + m[8] * z + m[12]) / w;
    xy[2 * i + 1] = (m[1] * x + m[5] * y + m[9] * z + m[13]) / w;
  }
  return xy;
}

export function projectOne(m: ArrayLike<number>, x: number, y: number, z: number): [number, number] | null {
  const w = m[3] * x + m[7] * y + m[11] * z + m[15];
  if (w <= 1e-9) return null;
  return [(m[0] * x + m[4] * y + m[8] * z + m[12]) / w, (m[1] * x + m[5] * y + m[9] * z + m[13]) / w];
}

/** Rows whose projection lies in the rectangle (x0, y0)-(x1, y1), CSS px, corners in any order. */
export function selectBox(xy: Float32Array, x0: number, y0: number, x1: number, y1: number): Uint32Array {
  const lx = Math.min(x0, x1), hx = Math.max(x0, x1), ly = Math.min(y0, y1), hy = Math.max(y0, y1);
  const n = xy.length >> 1;
  const out = new Uint32Array(n);
  let j = 0;
  for (let i = 0; i < n; i++) {
    const x = xy[2 * i], y = xy[2 * i + 1];
    if (x >= lx && x <= hx && y >= ly && y <= hy) out[j++] = i;
  }
  return out.slice(0, j);
}

/** Rows whose projection lies inside the polygon (even-odd rule), bounding box tested first. */
export function selectLasso(xy: Float32Array, poly: [number, number][]): Uint32Array {
  const n = xy.length >> 1;
  if (poly.length < 3) return new Uint32Array(0);
  let lx = Infinity, hx = -Infinity, ly = Infinity, hy = -Infinity;
  for (const [x, y] of poly) {
    lx = Math.min(lx, x); hx = Math.max(hx, x); ly = Math.min(ly, y); hy = Math.max(hy, y);
  }
  const px = Float64Array.from(poly, (p) => p[0]);
  const py = Float64Array.from(poly, (p) => p[1]);
  const m = poly.length;
  const out = new Uint32Array(n);
  let j = 0;
  for (let i = 0; i < n; i++) {
    const x = xy[2 * i], y = xy[2 * i + 1];
    if (!(x >= lx && x <= hx && y >= ly && y <= hy)) continue;
    let inside = false;
    for (let a = 0, b = m - 1; a < m; b = a++) {
      if (py[a] > y !== py[b] > y && x < ((px[b] - px[a]) * (y - py[a])) / (py[b] - py[a]) + px[a]) inside = !inside;
    }
    if (inside) out[j++] = i;
  }
  return out.slice(0, j);
}

/**
 * The point under (x, y): among points whose disc (radius ``hit`` px) covers it, the front-most
 * in 3D (smallest ``depth``, the clip-space w) or the last drawn in 2D (highest row, drawn on
 * top); else the nearest within ``near`` px; else -1. Picking on the CPU from the projected
 * positions costs one pass over them and, unlike GPU picking in a software renderer, does not
 * redraw the points.
 */
export function pickNearest(xy: Float32Array, depth: Float32Array | null, x: number, y: number, hit: number, near: number): number {
  const n = xy.length >> 1;
  let best = -1, bestD = Infinity, bestZ = Infinity, nearRow = -1, nearD = near * near;
  const h2 = hit * hit;
  for (let i = 0; i < n; i++) {
    const dx = xy[2 * i] - x, dy = xy[2 * i + 1] - y;
    const d2 = dx * dx + dy * dy;
    if (!(d2 <= nearD || d2 <= h2)) continue;
    if (d2 <= h2) {
      const z = depth ? depth[i] : -i;
      if (z < bestZ || (z === bestZ && d2 < bestD)) {
        best = i;
        bestZ = z;
        bestD = d2;
      }
    } else if (d2 < nearD) {
      nearRow = i;
      nearD = d2;
    }
  }
  return best >= 0 ? best : nearRow;
}
