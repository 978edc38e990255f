// What is drawn on the 2D canvas above the WebGL one, in screen space (2D and 3D alike):
// arrows (vector arithmetic operands), markers (a position not in the data, e.g. an arithmetic
// result) and the selection shape while it is being drawn. Labels are in labels.ts.
import type { RGBA } from "./types";

export const css = (c: RGBA | number[], alpha = 1): string =>
  `rgba(${c[0]},${c[1]},${c[2]},${((c[3] ?? 255) / 255) * alpha})`;

export function drawArrow(
  ctx: CanvasRenderingContext2D, x0: number, y0: number, x1: number, y1: number, color: RGBA, width: number, halo: string,
): void {
  const len = Math.hypot(x1 - x0, y1 - y0);
  if (!(len > 1)) return;
  const ux = (x1 - x0) / len, uy = (y1 - y0) / len;
  const head = Math.min(12, len * 0.4);
  const bx = x1 - ux * head, by = y1 - uy * head;
  for (const [stroke, w] of [[halo, width + 3], [css(color), width]] as [string, number][]) {
    ctx.strokeStyle = stroke;
    ctx.lineWidth = w;
    ctx.beginPath();
    ctx.moveTo(x0, y0);
    ctx.lineTo(bx, by);
    ctx.stroke();
  }
  ctx.fillStyle = css(color);
  ctx.beginPath();
  ctx.moveTo(x1, y1);
  ctx.lineTo(bx - uy * head * 0.45, by + ux * head * 0.45);
  ctx.lineTo(bx + uy * head * 0.45, by - ux * head * 0.45);
  ctx.closePath();
  ctx.fill();
}

export function drawMarker(
  ctx: CanvasRenderingContext2D, x: number, y: number, shape: string, size: number, color: RGBA, outline: string,
): void {
  const r = size;
  ctx.beginPath();
  if (shape === "star") {
    for (let i = 0; i < 10; i++) {
      const a = -Math.PI / 2 + (i * Math.PI) / 5;
      const rr = i % 2 ? r * 0.45 : r;
      ctx.lineTo(x + rr * Math.cos(a), y + rr * Math.sin(a));
    }
    ctx.closePath();
  } else if (shape === "diamond") {
    ctx.moveTo(x, y - r); ctx.lineTo(x + r, y); ctx.lineTo(x, y + r); ctx.lineTo(x - r, y); ctx.closePath();
  } else if (shape === "square") {
    ctx.rect(x - r * 0.8, y - r * 0.8, r * 1.6, r * 1.6);
  } else if (shape === "cross") {
    const t = r * 0.3;
    ctx.moveTo(x - t, y - r); ctx.lineTo(x + t, y - r); ctx.lineTo(x + t, y - t); ctx.lineTo(x + r, y - t);
    ctx.lineTo(x + r, y + t); ctx.lineTo(x + t, y + t); ctx.lineTo(x + t, y + r); ctx.lineTo(x - t, y + r);
    ctx.lineTo(x - t, y + t); ctx.lineTo(x - r, y + t); ctx.lineTo(x - r, y - t); ctx.lineTo(x - t, y - t);
    ctx.closePath();
  } else {
    ctx.arc(x, y, r * 0.8, 0, 2 * Math.PI);
  }
  ctx.fillStyle = css(color);
  ctx.fill();
  ctx.lineWidth = 1.5;
  ctx.strokeStyle = outline;
  ctx.stroke();
}

export function drawShape(ctx: CanvasRenderingContext2D, pts: [number, number][], box: boolean): void {
  if (pts.length < 2) return;
  ctx.save();
  ctx.setLineDash([5, 4]);
  ctx.lineWidth = 1.5;
  ctx.strokeStyle = "rgba(30,30,30,0.9)";
  ctx.fillStyle = "rgba(31,119,180,0.08)";
  ctx.beginPath();
  if (box) {
    const [a, b] = [pts[0], pts[pts.length - 1]];
    ctx.rect(Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.abs(b[0] - a[0]), Math.abs(b[1] - a[1]));
  } else {
    ctx.moveTo(pts[0][0], pts[0][1]);
    for (const p of pts.slice(1)) ctx.lineTo(p[0], p[1]);
    ctx.closePath();
  }
  ctx.fill();
  ctx.stroke();
  ctx.restore();
}
