// The component's DOM: a root (which carries the state as data-* attributes for tests), the
// plot (deck.gl's canvas + the overlay canvas), a toolbar, a legend, a tooltip and a message
// line. User text only ever goes through textContent or the canvas, never innerHTML.
import { css } from "./overlay";
import { b64decode } from "./rowset";

export const STYLE = `
.lens-map { position: relative; width: 100%; font-family: inherit; color: inherit; user-select: none; }
.lens-map .plot { position: absolute; inset: 0; overflow: hidden; border-radius: 0.5rem;
  border: 1px solid rgba(49, 51, 63, 0.15); }
.lens-map .plot canvas { position: absolute; left: 0; top: 0; }
.lens-map canvas.overlay { pointer-events: none; }
.lens-map .toolbar { position: absolute; left: 6px; top: 6px; display: flex; gap: 2px; flex-wrap: wrap;
  align-items: center; background: rgba(255,255,255,0.88); border-radius: 6px; padding: 2px; z-index: 2;
  box-shadow: 0 1px 3px rgba(0,0,0,0.15); font-size: 12px; }
.lens-map .toolbar button { font: inherit; font-size: 12px; border: 1px solid transparent; background: none;
  padding: 2px 7px; border-radius: 4px; cursor: pointer; color: #262730; }
.lens-map .toolbar button:hover { background: rgba(0,0,0,0.06); }
.lens-map .toolbar button[aria-pressed="true"] { border-color: rgba(0,0,0,0.35); background: rgba(0,0,0,0.08); }
.lens-map .toolbar button:disabled { opacity: 0.4; cursor: default; }
.lens-map .toolbar .sep { width: 1px; height: 16px; background: rgba(0,0,0,0.2); margin: 0 3px; }
.lens-map .toolbar .count { padding: 0 6px; color: #262730; }
.lens-map .legend { position: absolute; right: 6px; top: 6px; max-height: 45%; overflow: auto; z-index: 2;
  background: rgba(255,255,255,0.88); border-radius: 6px; padding: 4px 8px; font-size: 12px; color: #262730;
  box-shadow: 0 1px 3px rgba(0,0,0,0.15); max-width: 35%; }
.lens-map .legend .title { font-weight: 600; margin-bottom: 2px; }
.lens-map .legend .item { display: flex; align-items: center; gap: 5px; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
.lens-map .legend .sw { width: 10px; height: 10px; border-radius: 50%; flex: none; }
.lens-map .legend canvas { display: block; width: 140px; height: 10px; margin: 3px 0 1px; }
.lens-map .legend .ends { display: flex; justify-content: space-between; }
.lens-map .tooltip { position: absolute; z-index: 3; pointer-events: none; max-width: 320px; background: #fff;
  color: #262730; border: 1px solid rgba(0,0,0,0.2); border-radius: 5px; padding: 4px 7px; font-size: 12px;
  box-shadow: 0 2px 6px rgba(0,0,0,0.2); white-space: pre-wrap; overflow-wrap: anywhere; display: none; }
.lens-map .tooltip .lab { font-weight: 600; }
.lens-map .tooltip .f { color: #555; }
.lens-map .tooltip canvas { display: block; margin-top: 4px; image-rendering: pixelated; }
.lens-map .message { position: absolute; inset: 0; display: none; align-items: center; justify-content: center;
  text-align: center; padding: 2rem; font-size: 14px; color: #262730; z-index: 4;
  background: rgba(250,250,250,0.92); border-radius: 0.5rem; }
`;

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

export interface Legend {
  kind: "categories" | "colorbar";
  title?: string | null;
  items?: { label: string; color: number[]; count: number }[];
  more?: number;
  min?: number;
  max?: number;
  stops?: [number, number[]][];
}

export function renderLegend(box: HTMLElement, legend: Legend | null | undefined): void {
  box.replaceChildren();
  if (!legend) {
    box.style.display = "none";
    return;
  }
  box.style.display = "block";
  if (legend.title) box.append(el("div", "title", legend.title));
  if (legend.kind === "categories") {
    for (const it of legend.items || []) {
      const row = el("div", "item");
      const sw = el("span", "sw");
      sw.style.background = css(it.color);
      row.append(sw, el("span", "", `${it.label} (${it.count.toLocaleString()})`));
      row.title = it.label;
      box.append(row);
    }
    if (legend.more) box.append(el("div", "item", `… and ${legend.more.toLocaleString()} more (grey)`));
  } else {
    const c = el("canvas");
    c.width = 140;
    c.height = 10;
    const ctx = c.getContext("2d");
    if (ctx) {
      const g = ctx.createLinearGradient(0, 0, 140, 0);
      for (const [t, rgb] of legend.stops || []) g.addColorStop(t, css([rgb[0], rgb[1], rgb[2], 255]));
      ctx.fillStyle = g;
      ctx.fillRect(0, 0, 140, 10);
    }
    const ends = el("div", "ends");
    const fmt = (v: number | undefined) => (v === undefined ? "" : Number(v.toPrecision(4)).toLocaleString());
    ends.append(el("span", "", fmt(legend.min)), el("span", "", fmt(legend.max)));
    box.append(c, ends);
  }
}

export interface RowDetails {
  label?: string;
  fields?: [string, string][];
  image?: { w: number; h: number; data: string };
}

/** Fill the tooltip: the label, the chosen metadata columns, a grey-level thumbnail if any. */
export function renderTooltip(box: HTMLElement, label: string, details: RowDetails | null): void {
  box.replaceChildren(el("div", "lab", details?.label ?? label));
  for (const [k, v] of details?.fields || []) box.append(el("div", "f", `${k}: ${v}`));
  const img = details?.image;
  if (img && img.w > 0 && img.h > 0 && img.w * img.h <= 4096) {
    const px = b64decode(img.data);
    const c = el("canvas");
    c.width = img.w;
    c.height = img.h;
    const scale = Math.max(1, Math.floor(64 / Math.max(img.w, img.h)));
    c.style.width = `${img.w * scale}px`;
    c.style.height = `${img.h * scale}px`;
    const ctx = c.getContext("2d");
    if (ctx && px.length >= img.w * img.h) {
      const data = ctx.createImageData(img.w, img.h);
      for (let i = 0; i < img.w * img.h; i++) {
        const v = 255 - px[i]; // ink dark on white
        data.data.set([v, v, v, 255], 4 * i);
      }
      ctx.putImageData(data, 0, 0);
      box.append(c);
    }
  }
}
