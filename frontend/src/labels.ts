// Label placement in screen space, at the plot's real size: texts measured with the canvas's
// measureText, shortened with an ellipsis to a maximum width, then placed greedily by priority
// (highest first) at the first of eight spots around the anchor where the box stays inside the
// plot and overlaps no placed label and no protected marker; a label with no free spot is
// dropped. Re-run on every view change, so the result is collision-free at every zoom level,
// in 2D and in 3D alike (anchors are projected first). The greedy fixed-candidate scheme is the
// classic point-feature labelling heuristic (Christensen, Marks & Shieber 1995, "An empirical
// study of algorithms for point-feature label placement"); Embedding Atlas uses the dynamic
// variant of Been et al. (2006) for the same purpose.

export interface LabelRequest {
  x: number; // anchor, CSS pixels from the plot's top left
  y: number;
  text: string;
  priority: number;
  gap: number; // distance kept from the anchor (the marker's radius), px
  color: string;
  size: number; // font size, px
  weight: number; // 400 or 600
  centred?: boolean; // cluster labels: centred on the anchor when free
  row?: number;
  kind: string;
}

export interface PlacedLabel {
  text: string;
  x: number; // box top left, px
  y: number;
  w: number;
  h: number;
  row: number | null;
  kind: string;
  color: string;
  font: string;
  priority: number;
}

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

const PAD = 1; // px kept between boxes

class Grid {
  private cells = new Map<number, Box[]>();
  constructor(private cell = 64) {}
  private keys(b: Box): number[] {
    const x0 = Math.floor(b.x / this.cell), x1 = Math.floor((b.x + b.w) / this.cell);
    const y0 = Math.floor(b.y / this.cell), y1 = Math.floor((b.y + b.h) / this.cell);
    const out: number[] = [];
    for (let i = x0; i <= x1; i++) for (let j = y0; j <= y1; j++) out.push((i + 4096) * 8192 + (j + 4096));
    return out;
  }
  add(b: Box): void {
    for (const k of this.keys(b)) {
      const list = this.cells.get(k);
      if (list) list.push(b);
      else this.cells.set(k, [b]);
    }
  }
  hits(b: Box): boolean {
    for (const k of this.keys(b)) {
      for (const o of this.cells.get(k) || []) {
        if (b.x < o.x + o.w + PAD && o.x < b.x + b.w + PAD && b.y < o.y + o.h + PAD && o.y < b.y + b.h + PAD) return true;
      }
    }
    return false;
  }
}

const widthCache = new Map<string, number>();

function measure(ctx: CanvasRenderingContext2D, font: string, text: string): number {
  const key = font + "\u0000" + text;
  let w = widthCache.get(key);
  if (w === undefined) {
    ctx.font = font;
    w = ctx.measureText(text).width;
    if (widthCache.size > 20_000) widthCache.clear();
    widthCache.set(key, w);
  }
  return w;
}

/** ``text`` shortened with "…" so that it measures at most ``maxWidth`` px (binary search). */
export function fitText(ctx: CanvasRenderingContext2D, font: string, text: string, maxWidth: number): string {
  if (measure(ctx, font, text) <= maxWidth) return text;
  const chars = Array.from(text);
  let lo = 0, hi = chars.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (measure(ctx, font, chars.slice(0, mid).join("").trimEnd() + "…") <= maxWidth) lo = mid;
    else hi = mid - 1;
  }
  return lo === 0 ? "" : chars.slice(0, lo).join("").trimEnd() + "…";
}

export function fontOf(size: number, weight: number, family: string): string {
  return `${weight} ${size}px ${family}`;
}

/** Place labels; ``obstacles`` (e.g. the focus marker) are never covered. A row is labelled
 * once (by its highest-priority request); ``caps`` bounds how many labels of a kind are placed. */
export function layoutLabels(
  ctx: CanvasRenderingContext2D,
  requests: LabelRequest[],
  width: number,
  height: number,
  obstacles: Box[],
  family: string,
  maxWidth: number,
  caps: Record<string, number> = {},
): PlacedLabel[] {
  const grid = new Grid();
  for (const o of obstacles) grid.add(o);
  const order = requests.map((_, i) => i).sort((a, b) => requests[b].priority - requests[a].priority || a - b);
  const placed: PlacedLabel[] = [];
  const rows = new Set<number>();
  const count: Record<string, number> = {};
  for (const i of order) {
    const r = requests[i];
    if ((r.row !== undefined && rows.has(r.row)) || (count[r.kind] ?? 0) >= (caps[r.kind] ?? Infinity)) continue;
    if (!(r.x >= -maxWidth && r.x <= width + maxWidth && r.y >= -50 && r.y <= height + 50)) continue;
    const font = fontOf(r.size, r.weight, family);
    const text = fitText(ctx, font, r.text, maxWidth);
    if (!text) continue;
    const w = Math.ceil(measure(ctx, font, text)) + 2;
    const h = Math.ceil(r.size * 1.25);
    const g = r.gap + 2;
    const spots: [number, number][] = [
      [r.x + g, r.y - h / 2], // right
      [r.x - g - w, r.y - h / 2], // left
      [r.x - w / 2, r.y - g - h], // above
      [r.x - w / 2, r.y + g], // below
      [r.x + g * 0.7, r.y - g * 0.7 - h], // above right
      [r.x + g * 0.7, r.y + g * 0.7], // below right
      [r.x - g * 0.7 - w, r.y - g * 0.7 - h], // above left
      [r.x - g * 0.7 - w, r.y + g * 0.7], // below left
    ];
    if (r.centred) spots.unshift([r.x - w / 2, r.y - h / 2]);
    for (const [x, y] of spots) {
      const box = { x, y, w, h };
      if (x < 0 || y < 0 || x + w > width || y + h > height || grid.hits(box)) continue;
      grid.add(box);
      if (r.row !== undefined) rows.add(r.row);
      count[r.kind] = (count[r.kind] ?? 0) + 1;
      placed.push({ text, x, y, w, h, row: r.row ?? null, kind: r.kind, color: r.color, font, priority: r.priority });
      break;
    }
  }
  return placed;
}

/** Draw placed labels with a halo in the background colour (readable over points). */
export function drawLabels(ctx: CanvasRenderingContext2D, placed: PlacedLabel[], halo: string): void {
  ctx.textBaseline = "middle";
  ctx.textAlign = "left";
  ctx.lineJoin = "round";
  for (const p of placed) {
    ctx.font = p.font;
    ctx.lineWidth = 3;
    ctx.strokeStyle = halo;
    ctx.strokeText(p.text, p.x + 1, p.y + p.h / 2);
    ctx.fillStyle = p.color;
    ctx.fillText(p.text, p.x + 1, p.y + p.h / 2);
  }
}
