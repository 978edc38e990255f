// Numbered axes of a 2-D map whose coordinates mean something (semantic axes; the view's
// "axes", written by viz_app/map/ticks.py): tick marks, tick values and the two titles in two
// strips along the bottom and left edges of the plot, faint grid lines across it, drawn on the
// overlay canvas and recomputed for the range shown at every pan and zoom. Point labels keep out of the strips (they are obstacles
// of the label layout) and the default view leaves room for them (see LensMap.fit).
//
// Tick rule, mirrored from the core (matplotlib's MaxNLocator(nbins=max - 1, steps=[1, 2, 5, 10]),
// viz_app/map/ticks.py): the smallest step of 1, 2 or 5 x 10^k that is >= (hi - lo) / (max - 1),
// so at most `max` ticks (max is 6..12: that step always leaves >= 2 ticks in the range; below
// 2 the next smaller steps are tried, as MaxNLocator does). Per axis, max = the view's
// max_ticks, or 1 + the axis length // tick_px if smaller (at least 6): ticks >= ~tick_px apart.
// Titles are user text: drawn with fillText on the canvas, never parsed as HTML.
import type { Box } from "./labels";
import type { AxesSpec } from "./types";

export interface AxisTicks {
  max: number; // the most ticks allowed on this axis at its length (see above)
  values: number[]; // data units, increasing
  px: number[]; // where each is drawn: x (bottom axis) or y (left axis), CSS px in the plot
  step: number;
  range: [number, number]; // the data range the ticks are for (the strip's unobstructed span)
}

/** Strip sizes, CSS px: tick 5 + gap + value (11 px font) + gap + title (12 px font). */
export const BOTTOM_STRIP = 40;
export const LEFT_STRIP_MIN = 58;
const TICK = 5;
const FONT = 11;
const TITLE = 12;

/** Tick values in [lo, hi] by the rule above; no ticks for an empty or non-finite range. */
export function niceTicks(lo: number, hi: number, max: number): AxisTicks {
  const none: AxisTicks = { max, values: [], px: [], step: 0, range: [lo, hi] };
  const raw = (hi - lo) / Math.max(1, max - 1);
  if (!(raw > 0) || !Number.isFinite(raw) || !Number.isFinite(lo)) return none;
  const p = 10 ** Math.floor(Math.log10(raw));
  const ladder = [0.1, 0.2, 0.5, 1, 2, 5, 10].map((m) => m * p); // the smaller steps: see above
  let i = ladder.findIndex((s) => s >= raw * (1 - 1e-12));
  if (i < 0) i = ladder.length - 1;
  for (; i >= 0; i--) {
    const step = ladder[i];
    const dec = Math.max(0, Math.min(20, -Math.floor(Math.log10(step)) + 1));
    const k0 = Math.ceil(lo / step - 1e-9), k1 = Math.floor(hi / step + 1e-9);
    if (k1 - k0 + 1 >= 2 || i === 0) {
      const values: number[] = [];
      for (let k = k0; k <= k1 && values.length < 100; k++) values.push(Number((k * step).toFixed(dec)) + 0);
      return { max, values, px: [], step: Number(step.toPrecision(12)), range: [lo, hi] };
    }
  }
  return none;
}

/** A tick value as text: the step's decimals, a real minus sign. */
export function formatTick(v: number, step: number): string {
  const dec = Math.max(0, Math.min(20, -Math.floor(Math.log10(step) + 1e-9)));
  const s = Math.abs(v).toFixed(dec);
  return (v < 0 && Number(s) !== 0 ? "\u2212" : "") + s;
}

export interface DrawnAxes {
  x: AxisTicks;
  y: AxisTicks;
  strip: { left: number; bottom: number }; // the strips' width and height, px
  strips: Box[]; // obstacles for the label layout
}

/**
 * Draw the axes of a 2-D orthographic view. `target`/`zoom`: deck.gl's view state (normalised
 * units; 2^zoom px per unit, y up); `W`, `H`: plot size in px; `top`: the lowest y (px) the
 * toolbar covers at the left edge, where no y value is written.
 */
export function drawAxes(
  ctx: CanvasRenderingContext2D, spec: AxesSpec, target: number[], zoom: number, W: number, H: number,
  top: number, fontFamily: string, color: string, background: string,
): DrawnAxes {
  const s = 2 ** zoom;
  const nx = (px: number) => target[0] + (px - W / 2) / s; // screen x -> normalised x
  const ny = (py: number) => target[1] - (py - H / 2) / s; // screen y (down) -> normalised y (up)
  const X = (v: number) => W / 2 + ((v - spec.x.offset) / spec.x.scale - target[0]) * s;
  const Y = (v: number) => H / 2 - ((v - spec.y.offset) / spec.y.scale - target[1]) * s;
  const data = (n: number, a: { offset: number; scale: number }) => n * a.scale + a.offset;
  const font = (px: number, w = 400) => `${w} ${px}px ${fontFamily}`;

  // y first: its values' widths decide the left strip's width
  const most = (px: number) => Math.max(6, Math.min(spec.max_ticks, 1 + Math.floor(px / (spec.tick_px || 60))));
  const yt = niceTicks(data(ny(H - BOTTOM_STRIP), spec.y), data(ny(top), spec.y), most(H - BOTTOM_STRIP - top));
  ctx.font = font(FONT);
  const ylabels = yt.values.map((v) => formatTick(v, yt.step));
  const widest = Math.max(0, ...ylabels.map((t) => ctx.measureText(t).width));
  const L = Math.max(LEFT_STRIP_MIN, Math.ceil(TICK + 3 + widest + 6 + TITLE + 4));
  const B = BOTTOM_STRIP;
  const xt = niceTicks(data(nx(L), spec.x), data(nx(W), spec.x), most(W - L));
  const q = (x: number) => Math.round(x * 10) / 10;
  xt.px = xt.values.map((v) => q(X(v)));
  yt.px = yt.values.map((v) => q(Y(v)));

  ctx.save();
  // faint grid lines at the ticks across the plot (the zero lines a little stronger), so a
  // point's value can be read in the middle of the map too; drawn under the strips
  ctx.strokeStyle = color;
  ctx.lineWidth = 1;
  for (const zero of [false, true]) {
    ctx.globalAlpha = zero ? 0.22 : 0.08;
    ctx.beginPath();
    for (const v of xt.values.filter((v) => (v === 0) === zero)) {
      const x = Math.round(X(v)) + 0.5;
      ctx.moveTo(x, 0);
      ctx.lineTo(x, H - B);
    }
    for (const v of yt.values.filter((v) => (v === 0) === zero)) {
      const y = Math.round(Y(v)) + 0.5;
      ctx.moveTo(L, y);
      ctx.lineTo(W, y);
    }
    ctx.stroke();
  }
  ctx.fillStyle = background;
  ctx.globalAlpha = 0.86;
  ctx.fillRect(0, H - B, W, B);
  ctx.fillRect(0, 0, L, H - B);
  ctx.globalAlpha = 1;
  ctx.strokeStyle = color;
  ctx.fillStyle = color;
  ctx.lineWidth = 1;
  ctx.beginPath(); // the two axis lines, at the strips' inner edges
  ctx.moveTo(L + 0.5, 0);
  ctx.lineTo(L + 0.5, H - B + 0.5);
  ctx.lineTo(W, H - B + 0.5);
  for (const v of xt.values) {
    const x = Math.round(X(v)) + 0.5;
    ctx.moveTo(x, H - B);
    ctx.lineTo(x, H - B + TICK);
  }
  for (const v of yt.values) {
    const y = Math.round(Y(v)) + 0.5;
    ctx.moveTo(L, y);
    ctx.lineTo(L - TICK, y);
  }
  ctx.stroke();
  ctx.font = font(FONT);
  ctx.textBaseline = "top";
  ctx.textAlign = "center";
  for (const v of xt.values) ctx.fillText(formatTick(v, xt.step), Math.min(Math.max(X(v), L + 12), W - 14), H - B + TICK + 2);
  ctx.textBaseline = "middle";
  ctx.textAlign = "right";
  yt.values.forEach((v, i) => ctx.fillText(ylabels[i], L - TICK - 3, Math.min(Math.max(Y(v), top + 6), H - B - 6)));
  ctx.font = font(TITLE, 600);
  ctx.textAlign = "center";
  ctx.textBaseline = "bottom";
  ctx.fillText(fit(ctx, spec.x.title, W - L - 16), L + (W - L) / 2, H - 3);
  ctx.translate(4, top + (H - B - top) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = "top";
  ctx.fillText(fit(ctx, spec.y.title, H - B - top - 12), 0, 0);
  ctx.restore();
  return { x: xt, y: yt, strip: { left: L, bottom: B }, strips: [{ x: 0, y: H - B, w: W, h: B }, { x: 0, y: 0, w: L, h: H - B }] };
}

/** `text` cut with an ellipsis to `max` px in the context's current font. */
function fit(ctx: CanvasRenderingContext2D, text: string, max: number): string {
  if (ctx.measureText(text).width <= max) return text;
  let lo = 0, hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ctx.measureText(text.slice(0, mid) + "\u2026").width <= max) lo = mid;
    else hi = mid - 1;
  }
  return text.slice(0, lo) + "\u2026";
}
