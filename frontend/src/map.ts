// One live map: deck.gl (WebGL 2) draws the points from binary attributes (OrthographicView +
// ScatterplotLayer in 2D, OrbitView + billboarded ScatterplotLayer in 3D); a 2D canvas on top
// draws labels, arrows and markers in screen space. The map's data (positions, colours, labels,
// kNN graph) is fetched once per map by URL; each rerun brings a small "view" JSON that is
// compared with the last one, and only what changed reaches the GPU. A click highlights the
// focus and its neighbours (from the shipped kNN graph, or one request to the server above its
// size) in the next frame, then reports the row to Python. State for tests sits on the root as
// data-* attributes.
import { Deck, OrbitView, OrthographicView } from "@deck.gl/core";
import { ScatterplotLayer } from "@deck.gl/layers";
import { BOTTOM_STRIP, drawAxes, LEFT_STRIP_MIN } from "./axes";
import { fetchBlob, Labels, type LensBlob } from "./blob";
import { el, renderLegend, renderTooltip, RowDetails, STYLE } from "./dom";
import { Box, drawLabels, LabelRequest, layoutLabels, PlacedLabel } from "./labels";
import { css, drawArrow, drawMarker, drawShape } from "./overlay";
import { decodeRows, encodeRows } from "./rowset";
import { pickNearest, projectAll, projectOne, selectBox, selectLasso } from "./select";
import type { CameraSpec, MapSpec, RGBA, SetSpec, ViewSpec } from "./types";

export const NO_WEBGL =
  "This map needs WebGL, which is turned off or not available in this browser: turn on hardware " +
  "acceleration (or WebGL) in the browser's settings, or open the app in another browser.";

let webgl2: boolean | null = null;
export function hasWebGL2(): boolean {
  if (webgl2 === null) {
    try {
      const gl = document.createElement("canvas").getContext("webgl2");
      webgl2 = !!gl;
      gl?.getExtension("WEBGL_lose_context")?.loseContext();
    } catch {
      webgl2 = false;
    }
  }
  return webgl2;
}

interface MapData {
  n: number;
  dims: 2 | 3;
  pos: Float32Array;
  col: Uint8Array;
  sizes: Float32Array | null;
  labels: Labels | null;
  knn: Uint32Array | null;
  knnK: number;
  extent: number[][];
}

type Mode = "pan" | "box" | "lasso";
type Report = (name: string, value: unknown) => void;
type Project = (p: ArrayLike<number>) => [number, number] | null;

const EMPTY = new Uint32Array(0);
/** Highlighted sets up to this many rows are drawn on the 2-D overlay, not as deck.gl layers:
 * a click that changes such a set (the focus inspector's "missing" and "false" neighbours) then
 * redraws only the overlay. A new deck.gl layer redraws every point, and in a software renderer
 * the page waits for that frame: Chromium's software compositor reads the WebGL canvas back
 * (one ``glReadPixels`` per drawn frame, which waits for the GPU process to finish drawing). */
const OVERLAY_SET_MAX = 2000;

export class LensMap {
  report: Report = () => {};
  readonly root: HTMLDivElement;
  private plot: HTMLDivElement;
  private overlay: HTMLCanvasElement;
  private toolbar: HTMLDivElement;
  private legend: HTMLDivElement;
  private tip: HTMLDivElement;
  private msg: HTMLDivElement;
  private count: HTMLSpanElement;
  private buttons: Record<string, HTMLButtonElement> = {};
  private deck: any = null;
  private deckDims = 0;
  private vs: any = null;
  private view: ViewSpec | null = null;
  private viewJson = "";
  private mapId = "";
  private abort: AbortController | null = null;
  private d: MapData | null = null;
  private focus: number | null = null;
  private neighbors: Uint32Array = EMPTY;
  private selection: Uint32Array | null = null;
  private sets = new Map<string, { key: string; rows: Uint32Array }>();
  private srvFocus = "";
  private srvSel = "";
  private zoomSeq = -1;
  private applyGen = 0;
  private mode: Mode = "pan";
  private drawing: [number, number][] | null = null;
  private placed: PlacedLabel[] = [];
  private layerCache = new Map<string, any>();
  private drawnSelection = 0;
  private pendingReport: { name: string; value: unknown } | null = null;
  /** A click's neighbours are being fetched from the server: its report waits for them. */
  private holdReport = 0;
  private clickT0 = 0;
  private nbT0 = 0;
  private frames = 0;
  private frameT0 = 0;
  private lastClick = 0;
  private layerUpdates = 0;
  private overlayQueued = false;
  private hoverRow = -1;
  private hoverAt: [number, number] | null = null;
  private hoverQueued = false;
  private press: [number, number] | null = null;
  private proj: { key: string; xy: Float32Array; w: Float32Array } | null = null;
  private details = new Map<string, RowDetails>();
  private tipTimer = 0;
  private resize: ResizeObserver;
  private seq = 0;
  private destroyed = false;
  private camTimer = 0;
  private lastCamera = "";

  constructor(parent: HTMLElement | ShadowRoot) {
    const style = document.createElement("style");
    style.textContent = STYLE;
    this.root = el("div", "lens-map");
    this.root.dataset.testid = "lens-map";
    this.root.dataset.ready = "0";
    this.plot = el("div", "plot");
    this.overlay = el("canvas", "overlay");
    this.toolbar = el("div", "toolbar");
    this.legend = el("div", "legend");
    this.tip = el("div", "tooltip");
    this.msg = el("div", "message");
    this.count = el("span", "count");
    this.plot.append(this.overlay, this.tip);
    this.root.append(this.plot, this.toolbar, this.legend, this.msg);
    parent.append(style, this.root);
    this.buildToolbar();
    this.resize = new ResizeObserver(() => this.scheduleOverlay());
    this.resize.observe(this.plot);
    this.plot.addEventListener("pointerdown", (e) => this.onPointerDown(e));
    this.plot.addEventListener("pointermove", (e) => this.onPointerMove(e));
    this.plot.addEventListener("pointerup", (e) => this.onPointerUp(e));
    this.plot.addEventListener("pointerleave", () => this.hideTip());
    this.root.addEventListener("keydown", (e) => e.key === "Escape" && this.cancelDrawing());
    this.root.tabIndex = 0;
    document.fonts?.ready.then(() => this.scheduleOverlay());
    if (!hasWebGL2()) this.fail(NO_WEBGL, "no-webgl");
    this.root.dataset.webgl = hasWebGL2() ? "1" : "0";
    // test hook: where a row is drawn, in client (page) pixels, or null when not on screen
    (this.root as any).lensProject = (row: number) => this.clientPosition(row);
    // test hook: a row's label as the map holds it ("" before the data arrived)
    (this.root as any).lensLabel = (row: number) => this.d?.labels?.get(row) ?? "";
  }

  private clientPosition(row: number): [number, number] | null {
    const vp = this.viewport(), d = this.d;
    if (!vp || !d || !(row >= 0 && row < d.n)) return null;
    const p = projectOne(vp.pixelProjectionMatrix, d.pos[row * d.dims], d.pos[row * d.dims + 1], d.dims === 3 ? d.pos[row * d.dims + 2] : 0);
    const b = this.plot.getBoundingClientRect();
    return p ? [b.left + p[0], b.top + p[1]] : null;
  }

  // ---- view updates ------------------------------------------------------------------------
  update(view: ViewSpec): void {
    const json = JSON.stringify(view);
    this.root.style.height = `${view.height}px`;
    if (this.lastClick) this.root.dataset.updateMs = (performance.now() - this.lastClick).toFixed(1);
    if (json === this.viewJson || this.destroyed) return; // unchanged rerun: nothing to the GPU
    this.viewJson = json;
    this.view = view;
    if (!hasWebGL2()) return;
    if (view.map.id !== this.mapId) this.load(view.map);
    else if (this.d) void this.apply();
  }

  private async load(map: MapSpec): Promise<void> {
    this.abort?.abort();
    const abort = (this.abort = new AbortController());
    this.mapId = map.id;
    this.d = null;
    this.root.dataset.ready = "0";
    this.root.dataset.map = map.id;
    this.showMessage("Loading the map…");
    this.root.dataset.phase = "fetch";
    try {
      const [pts, lab, knn] = await this.fetchFiles(map, abort.signal);
      if (abort.signal.aborted || this.destroyed) return;
      this.root.dataset.phase = "draw";
      const h = pts.header;
      this.d = {
        n: h.n,
        dims: h.dims,
        pos: pts.sections.positions as Float32Array,
        col: expandColors(h, pts.sections),
        sizes: pts.sections.sizes ? Float32Array.from(pts.sections.sizes, (v) => v / 32) : null,
        labels: lab ? new Labels(lab.sections.offsets as Uint32Array, lab.sections.text as Uint8Array) : null,
        knn: knn ? (knn.sections.indices as Uint32Array) : null,
        knnK: knn ? knn.header.k : 0,
        extent: h.extent,
      };
      this.proj = null;
      renderLegend(this.legend, h.legend);
      this.focus = null;
      this.neighbors = EMPTY;
      this.selection = null;
      this.sets.clear();
      this.layerCache.clear();
      this.srvFocus = this.srvSel = "";
      this.ensureDeck(this.d.dims);
      this.fit(null, true);
      this.lastCamera = ""; // the whole map: the default view, nothing to report
      this.hideMessage();
      this.root.dataset.n = String(this.d.n);
      this.root.dataset.dims = String(this.d.dims);
      await this.apply();
      this.root.dataset.ready = "1";
      this.root.dataset.phase = "ready";
    } catch (e: any) {
      if (abort.signal.aborted) return;
      this.fail(`The map's data could not be loaded (${e?.message ?? e}): reload the page.`, "load");
    }
  }

  /** The map's files; a failed download is tried again twice (after 1 s, then 3 s: a busy or
   * restarting server), then the error is the caller's. */
  private async fetchFiles(map: MapSpec, signal: AbortSignal): Promise<[LensBlob, LensBlob | null, LensBlob | null]> {
    for (let attempt = 1; ; attempt++) {
      this.root.dataset.attempts = String(attempt);
      try {
        return await Promise.all([
          fetchBlob(map.points),
          map.labels ? fetchBlob(map.labels) : Promise.resolve(null),
          map.knn ? fetchBlob(map.knn) : Promise.resolve(null),
        ]);
      } catch (e) {
        if (attempt >= 3 || signal.aborted || this.destroyed) throw e;
        await new Promise((ok) => setTimeout(ok, attempt === 1 ? 1000 : 3000));
      }
    }
  }

  private async apply(): Promise<void> {
    const v = this.view, d = this.d;
    if (!v || !d) return;
    const gen = ++this.applyGen;
    const f = JSON.stringify(v.focus);
    if (f !== this.srvFocus) {
      this.srvFocus = f;
      this.root.dataset.serverFocus = v.focus === null ? "" : String(v.focus);
      this.setFocus(v.focus, false, true);
    } else if (this.focus !== null) {
      this.setFocus(this.focus, false, true);
    }
    const s = JSON.stringify(v.selection);
    if (s !== this.srvSel) {
      this.srvSel = s;
      if (v.selection) this.setSelection(await decodeRows(v.selection, d.n), false);
    }
    for (const spec of v.sets) {
      const key = JSON.stringify(spec.rows);
      if (this.sets.get(spec.name)?.key !== key) this.sets.set(spec.name, { key, rows: await decodeRows(spec.rows, d.n) });
    }
    for (const name of [...this.sets.keys()]) if (!v.sets.some((s) => s.name === name)) this.sets.delete(name);
    if (gen !== this.applyGen) return;
    if (v.zoom && v.zoom.seq !== this.zoomSeq) {
      this.zoomSeq = v.zoom.seq;
      const to = v.zoom.to;
      if (typeof to === "string") this.zoomTo(to);
      else if ("camera" in to) this.setCamera(to.camera);
      else this.fit(await decodeRows(to, d.n), false);
      this.queueCamera();
    }
    this.render();
  }

  // ---- focus, neighbours, selection --------------------------------------------------------
  private setFocus(row: number | null, report: boolean, keepIfSame = false): void {
    const d = this.d!, v = this.view!;
    const valid = row !== null && Number.isInteger(row) && row >= 0 && row < d.n;
    if (keepIfSame && this.focus === row && this.neighbors.length === Math.min(v.k, d.knnK || v.k)) return;
    this.focus = valid ? row : null;
    this.neighbors = EMPTY;
    if (this.focus !== null && v.k > 0) {
      const r = this.focus;
      if (d.knn) {
        const k = Math.min(v.k, d.knnK);
        this.neighbors = d.knn.slice(r * d.knnK, r * d.knnK + k).filter((x) => x < d.n);
      } else if (v.map.details) {
        // the report (which reruns the app's script on the server) waits for the neighbours, at
        // most 1 s: sent at once, the rerun and this search competed for the server's CPU
        const hold = window.setTimeout(() => this.release(hold), 1000);
        this.holdReport = hold;
        fetch(`${v.map.details}/knn/${r}?k=${v.k}`, { credentials: "same-origin" })
          .then((res) => (res.ok ? res.json() : Promise.reject(new Error(String(res.status)))))
          .then((j) => {
            if (this.focus !== r) return;
            this.neighbors = Uint32Array.from(j.rows as number[]);
            this.render();
          })
          .catch(() => {})
          .finally(() => this.release(hold));
      }
    }
    if (report) this.pendingReport = { name: "focus", value: { row: this.focus, seq: ++this.seq } };
  }

  private setSelection(rows: Uint32Array | null, report: boolean, how = ""): void {
    this.selection = rows && rows.length ? rows : null;
    this.count.textContent = this.selection ? `${this.selection.length.toLocaleString()} selected` : "";
    this.buttons.zsel.disabled = this.buttons.clear.disabled = !this.selection;
    if (report) {
      const r = this.selection ?? EMPTY;
      this.pendingReport = { name: "selection", value: { ...encodeRows(r, this.d!.n), how, seq: ++this.seq } };
    }
  }

  // ---- deck.gl -----------------------------------------------------------------------------
  private ensureDeck(dims: 2 | 3): void {
    if (this.deck && this.deckDims === dims) return;
    this.deck?.finalize();
    this.deckDims = dims;
    const view =
      dims === 3
        ? new OrbitView({ id: "map", orbitAxis: "Y", fovy: 40 } as any)
        : new OrthographicView({ id: "map", flipY: false } as any);
    this.vs = dims === 3 ? { target: [0, 0, 0], zoom: 0, rotationX: 20, rotationOrbit: 30 } : { target: [0, 0, 0], zoom: 0 };
    this.deck = new Deck({
      parent: this.plot,
      views: view,
      viewState: this.vs,
      controller: this.controller(),
      layers: [],
      useDevicePixels: Math.min(window.devicePixelRatio || 1, 2),
      pickingRadius: 4,
      onViewStateChange: ({ viewState }: any) => {
        this.vs = viewState;
        this.deck.setProps({ viewState });
        this.scheduleOverlay();
        this.queueCamera();
      },
      onBeforeRender: () => (this.frameT0 = performance.now()),
      onAfterRender: () => this.afterRender(),
      onError: (e: Error) => this.fail(`The map could not be drawn (${e.message}).`, "deck"),
      getCursor: ({ isDragging }: any) =>
        this.mode !== "pan" ? "crosshair" : isDragging ? "grabbing" : this.hoverRow >= 0 ? "pointer" : "grab",
    } as any);
    this.plot.insertBefore(this.overlay, null);
  }

  private controller(): any {
    const drag = this.mode === "pan";
    return { doubleClickZoom: false, inertia: false, dragPan: drag, dragRotate: drag, keyboard: false };
  }

  private layer(key: string, make: () => any): any {
    let l = this.layerCache.get(key);
    if (!l) {
      l = make();
      this.layerCache.set(key, l);
    }
    return l;
  }

  private gather(rows: ArrayLike<number>): Float32Array {
    const d = this.d!;
    const out = new Float32Array(rows.length * d.dims);
    for (let i = 0; i < rows.length; i++) for (let j = 0; j < d.dims; j++) out[i * d.dims + j] = d.pos[rows[i] * d.dims + j];
    return out;
  }

  private overlayLayer(id: string, rows: ArrayLike<number>, opts: any): any {
    const d = this.d!;
    return new ScatterplotLayer({
      id,
      data: { length: rows.length, attributes: { getPosition: { value: this.gather(rows), size: d.dims } } },
      radiusUnits: "pixels",
      lineWidthUnits: "pixels",
      billboard: d.dims === 3,
      pickable: false,
      parameters: d.dims === 3 ? { depthCompare: "always", depthWriteEnabled: false } : {},
      ...opts,
    } as any);
  }

  private render(): void {
    const d = this.d, v = this.view;
    if (!d || !v || !this.deck) return;
    const r = v.point_size / 2;
    const dim = v.dim ?? (this.selection ? 0.25 : 1);
    const base = this.layer(`base|${this.mapId}|${r}|${v.opacity}|${dim}`, () =>
      new ScatterplotLayer({
        id: `points-${this.mapId}`,
        data: {
          length: d.n,
          attributes: {
            getPosition: { value: d.pos, size: d.dims },
            getFillColor: { value: d.col, size: 4, normalized: true },
            ...(d.sizes ? { getRadius: { value: d.sizes, size: 1 } } : {}),
          },
        },
        ...(d.sizes ? {} : { getRadius: 1 }),
        radiusScale: r,
        radiusUnits: "pixels",
        radiusMinPixels: d.dims === 3 ? Math.max(0.75, r * 0.5) : 0.5,
        radiusMaxPixels: d.dims === 3 ? r * 2.5 : 1000,
        billboard: d.dims === 3,
        pickable: false, // picked on the CPU (select.ts pickNearest): no picking pass in the renderer
        opacity: v.opacity * dim,
        antialiasing: true,
      } as any),
    );
    const layers: any[] = [base];
    for (const spec of v.sets) {
      const rows = this.sets.get(spec.name)?.rows;
      if (rows?.length && rows.length > OVERLAY_SET_MAX) layers.push(this.layer(`set|${spec.name}|${JSON.stringify(spec)}|${r}`, () => this.setLayer(spec, rows, r)));
    }
    if (this.selection) {
      const sel = this.selection;
      layers.push(this.layer(`sel|${sel.length}|${sel[0]}|${sel[sel.length - 1]}|${r}|${v.opacity}`, () => {
        const col = new Uint8Array(sel.length * 4);
        for (let i = 0; i < sel.length; i++) col.set(d.col.subarray(sel[i] * 4, sel[i] * 4 + 4), i * 4);
        return new ScatterplotLayer({
          id: "selection",
          data: { length: sel.length, attributes: { getPosition: { value: this.gather(sel), size: d.dims },
            getFillColor: { value: col, size: 4, normalized: true } } },
          radiusUnits: "pixels", getRadius: r, billboard: d.dims === 3, pickable: false, opacity: v.opacity,
          radiusMinPixels: 0.5, radiusMaxPixels: d.dims === 3 ? r * 2.5 : 1000,
          parameters: d.dims === 3 ? { depthCompare: "always", depthWriteEnabled: false } : {},
        } as any);
      }));
    }
    this.trimCache(layers);
    this.drawnSelection = this.selection?.length ?? 0;
    if (!this.sameLayers(layers)) {
      this.layerUpdates++;
      this.deck.setProps({ layers });
    }
    this.scheduleOverlay();
  }

  private lastLayers: any[] = [];
  private sameLayers(layers: any[]): boolean {
    const same = layers.length === this.lastLayers.length && layers.every((l, i) => l === this.lastLayers[i]);
    this.lastLayers = layers;
    return same;
  }

  private trimCache(keep: any[]): void {
    for (const [k, l] of this.layerCache) if (!keep.includes(l)) this.layerCache.delete(k);
  }

  /** A highlighted set of more than ``OVERLAY_SET_MAX`` rows as a deck.gl layer (smaller ones:
   * :meth:`drawSets`). */
  private setLayer(spec: SetSpec, rows: Uint32Array, r: number): any {
    const c = spec.color;
    const rr = r * spec.size;
    if (spec.style === "ring")
      return this.overlayLayer(`set-${spec.name}`, rows, { filled: false, stroked: true, getLineColor: c, getLineWidth: 2, getRadius: rr + 3 });
    if (spec.style === "halo")
      return this.overlayLayer(`set-${spec.name}`, rows, { filled: true, stroked: false, getFillColor: [c[0], c[1], c[2], 90], getRadius: rr + 5 });
    return this.overlayLayer(`set-${spec.name}`, rows, { filled: true, stroked: false, getFillColor: c, getRadius: rr + 1 });
  }

  private afterRender(): void {
    this.frames++;
    const a = this.root.dataset;
    a.frameMs = (performance.now() - this.frameT0).toFixed(1);
    a.frames = String(this.frames);
    a.layerUpdates = String(this.layerUpdates);
    a.selectionCount = String(this.drawnSelection);
    this.drawOverlay();
    this.flushReport();
  }

  /** End the hold ``hold`` on the report (its ``/knn`` answer came, or 1 s passed) and send the
   * report; a hold replaced by a later click's does nothing. */
  private release(hold: number): void {
    clearTimeout(hold);
    if (this.holdReport !== hold) return;
    this.holdReport = 0;
    this.flushReport();
  }

  /** Send the pending click/selection to Python, right after its highlight is scheduled for the
   * next frame: waiting for that frame first would hold the server back by a whole frame (a
   * software-rendered WebGL frame takes hundreds of ms here). Held while a click's neighbours
   * are fetched from the server (``holdReport``). */
  private flushReport(): void {
    if (!this.pendingReport || this.holdReport) return;
    const { name, value } = this.pendingReport;
    this.pendingReport = null;
    this.report(name, value);
    if (this.lastClick) this.root.dataset.reportMs = (performance.now() - this.lastClick).toFixed(1);
  }

  // ---- view fitting --------------------------------------------------------------------------
  private size(): [number, number] {
    return [Math.max(this.plot.clientWidth, 10), Math.max(this.plot.clientHeight, 10)];
  }

  private fit(rows: ArrayLike<number> | null, resetRotation: boolean): void {
    const d = this.d;
    if (!d || !this.deck) return;
    let lo: number[], hi: number[];
    if (rows === null) {
      lo = d.extent.map((e) => e[0]);
      hi = d.extent.map((e) => e[1]);
    } else {
      if (!rows.length) return;
      lo = Array(d.dims).fill(Infinity);
      hi = Array(d.dims).fill(-Infinity);
      for (let i = 0; i < rows.length; i++)
        for (let j = 0; j < d.dims; j++) {
          const x = d.pos[rows[i] * d.dims + j];
          lo[j] = Math.min(lo[j], x);
          hi[j] = Math.max(hi[j], x);
        }
    }
    const [W, H] = this.size();
    const target = [0, 1, 2].map((j) => (j < d.dims ? (lo[j] + hi[j]) / 2 : 0));
    const minSpan = 0.12;
    let zoom: number;
    if (d.dims === 2) {
      // numbered axes: fit the points into the plot less the axes' strips (left and bottom)
      // and the toolbar's band at the top, so no point starts under them
      const axes = !!this.view?.axes;
      const [L, B] = axes ? [LEFT_STRIP_MIN, BOTTOM_STRIP] : [0, 0];
      const T = axes && this.toolbar.style.display !== "none" ? this.toolbar.offsetTop + this.toolbar.offsetHeight : 0;
      const dx = Math.max(hi[0] - lo[0], minSpan), dy = Math.max(hi[1] - lo[1], minSpan);
      zoom = Math.log2(Math.min(Math.max(W - L, 10) / (dx * 1.12), Math.max(H - B - T, 10) / (dy * 1.12)));
      target[0] -= L / 2 / 2 ** zoom;
      target[1] += (T - B) / 2 / 2 ** zoom;
    } else {
      const rad = Math.max(Math.hypot(...lo.map((l, j) => hi[j] - l)) / 2, minSpan);
      zoom = Math.log2(Math.min(W, H) / (2 * rad * 1.1));
    }
    this.vs = { ...this.vs, target, zoom, ...(resetRotation && d.dims === 3 ? { rotationX: 20, rotationOrbit: 30 } : {}) };
    this.deck.setProps({ viewState: this.vs });
    this.scheduleOverlay();
  }

  zoomTo(to: "focus" | "selection" | "all"): void {
    if (to === "all") this.fit(null, true);
    else if (to === "focus" && this.focus !== null) this.fit([this.focus, ...this.neighbors], false);
    else if (to === "selection" && this.selection) this.fit(this.selection, false);
    this.queueCamera();
  }

  /** Set the camera from a restored view (normalised target and zoom, 3D rotations). */
  private setCamera(c: CameraSpec): void {
    const d = this.d;
    if (!d || !this.deck) return;
    const target = [0, 1, 2].map((j) => (j < c.target.length ? c.target[j] : 0));
    this.vs = { ...this.vs, target, zoom: c.zoom, ...(d.dims === 3 ? { rotationOrbit: c.rotationOrbit ?? 30, rotationX: c.rotationX ?? 20 } : {}) };
    this.deck.setProps({ viewState: this.vs });
    this.scheduleOverlay();
  }

  /** The camera in the map's data coordinates (zoom: log2 of pixels per data unit). */
  private camera(): Record<string, unknown> | null {
    const d = this.d, v = this.view, vs = this.vs;
    if (!d || !v || !vs) return null;
    const m = v.map;
    const r = (x: number) => Math.round(x * 1e6) / 1e6;
    const cam: Record<string, unknown> = {
      target: Array.from({ length: d.dims }, (_, j) => r(vs.target[j] * m.scale + m.center[j])),
      zoom: r(vs.zoom - Math.log2(m.scale)),
    };
    if (d.dims === 3) Object.assign(cam, { rotationOrbit: r(vs.rotationOrbit), rotationX: r(vs.rotationX) });
    return cam;
  }

  /** Report the camera to Python once it has rested for 400 ms (the end of a pan, zoom or
   * rotation, not every frame): one small state value, so a saved view holds the camera. */
  private queueCamera(): void {
    clearTimeout(this.camTimer);
    this.camTimer = window.setTimeout(() => {
      const cam = this.camera();
      if (!cam || this.destroyed) return;
      const json = JSON.stringify(cam);
      if (json === this.lastCamera) return;
      this.lastCamera = json;
      this.root.dataset.camera = json;
      this.report("camera", { ...cam, map: this.mapId, seq: ++this.seq });
    }, 400);
  }

  private viewport(): any {
    // null until deck.gl has set up its device (asynchronous; getViewports asserts before that:
    // a map whose files are at hand, e.g. inlined in the HTML export, draws its overlay earlier)
    if (!this.deck?.isInitialized) return null;
    return this.deck.getViewports()?.[0] ?? null;
  }

  // ---- overlay: labels, arrows, markers ----------------------------------------------------
  private scheduleOverlay(): void {
    if (this.overlayQueued) return;
    this.overlayQueued = true;
    requestAnimationFrame(() => {
      this.overlayQueued = false;
      this.drawOverlay();
    });
  }

  private overlayContext(W: number, H: number): CanvasRenderingContext2D {
    const dpr = window.devicePixelRatio || 1;
    const c = this.overlay;
    if (c.width !== Math.round(W * dpr) || c.height !== Math.round(H * dpr)) {
      c.width = Math.round(W * dpr);
      c.height = Math.round(H * dpr);
      c.style.width = `${W}px`;
      c.style.height = `${H}px`;
    }
    const ctx = c.getContext("2d")!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    return ctx;
  }

  /** Arrows, markers and the selection shape, then the labels laid out around them. */
  private drawOverlay(): void {
    const vp = this.viewport(), v = this.view, d = this.d;
    if (!vp || !v || !d) return;
    const [W, H] = this.size();
    const ctx = this.overlayContext(W, H);
    const m = vp.pixelProjectionMatrix;
    const P: Project = (p) => projectOne(m, p[0], p[1], d.dims === 3 ? p[2] ?? 0 : 0);
    const style = getComputedStyle(this.root);
    const halo = style.getPropertyValue("--st-background-color").trim() || "#ffffff";
    const obstacles: Box[] = this.chromeBoxes();
    this.drawSets(ctx, P, W, H);
    this.drawScale(ctx, W, H, style, halo, obstacles);
    for (const a of v.arrows) {
      const p0 = P(a.from), p1 = P(a.to);
      if (p0 && p1) drawArrow(ctx, p0[0], p0[1], p1[0], p1[1], a.color, a.width, halo);
    }
    this.drawFocus(ctx, P);
    for (const mk of v.markers) {
      const p = P(mk.at);
      if (!p) continue;
      drawMarker(ctx, p[0], p[1], mk.shape, mk.size, mk.color, halo);
      obstacles.push({ x: p[0] - mk.size, y: p[1] - mk.size, w: 2 * mk.size, h: 2 * mk.size });
    }
    const reqs = this.labelRequests(P, obstacles, style.color || "#262730", W, H);
    const caps = { auto: v.auto_labels };
    this.placed = layoutLabels(ctx, reqs, W, H, obstacles, style.fontFamily || "sans-serif", v.label_max_px, caps);
    drawLabels(ctx, this.placed, halo);
    if (this.drawing) drawShape(ctx, this.drawing, this.mode === "box");
    this.writeLabelState(W, H);
  }

  /** The numbered axes of a 2-D map that has them (axes.ts), under the other overlays; their
   * strips become label obstacles. data-axis-ticks holds, per axis, the drawn tick values (data
   * units), where they are drawn (px in the plot), their step and the data range they are for,
   * and the strips' size; absent without axes. */
  private drawScale(ctx: CanvasRenderingContext2D, W: number, H: number, style: CSSStyleDeclaration, halo: string, obstacles: Box[]): void {
    const spec = this.view?.axes, a = this.root.dataset;
    if (!spec || this.d?.dims !== 2) {
      delete a.axisTicks;
      return;
    }
    const pr = this.plot.getBoundingClientRect(), tb = this.toolbar.getBoundingClientRect();
    const top = this.toolbar.style.display === "none" || !tb.height ? 0 : Math.max(0, tb.bottom - pr.top + 2);
    const color = style.color || "#262730";
    const drawn = drawAxes(ctx, spec, this.vs.target, this.vs.zoom, W, H, top, style.fontFamily || "sans-serif", color, halo);
    obstacles.push(...drawn.strips);
    a.axisTicks = JSON.stringify({ x: drawn.x, y: drawn.y, strip: drawn.strip });
  }

  /** The highlighted sets of at most ``OVERLAY_SET_MAX`` rows (larger ones are deck.gl layers,
   * :meth:`setLayer`), in the same styles: "ring" a circle outline, "halo" a faint disc, "fill" a
   * disc, each ``spec.size`` times the point radius; under every other overlay. */
  private drawSets(ctx: CanvasRenderingContext2D, P: Project, W: number, H: number): void {
    const v = this.view!, d = this.d!, r = v.point_size / 2;
    for (const spec of v.sets) {
      const rows = this.sets.get(spec.name)?.rows;
      if (!rows?.length || rows.length > OVERLAY_SET_MAX) continue;
      const c = spec.color, rr = r * spec.size;
      const rad = spec.style === "ring" ? rr + 3 : spec.style === "halo" ? rr + 5 : rr + 1;
      ctx.lineWidth = 2;
      ctx.strokeStyle = ctx.fillStyle = css(spec.style === "halo" ? [c[0], c[1], c[2], 90] : c);
      for (let i = 0; i < rows.length; i++) {
        const p = P(Array.from(d.pos.subarray(rows[i] * d.dims, rows[i] * d.dims + d.dims)));
        if (!p || p[0] < -rad || p[1] < -rad || p[0] > W + rad || p[1] > H + rad) continue;
        ctx.beginPath();
        ctx.arc(p[0], p[1], rad, 0, 2 * Math.PI);
        if (spec.style === "ring") ctx.stroke();
        else ctx.fill();
      }
    }
  }

  /** The focus (filled) and its neighbours (rings), drawn on the 2D overlay: a click changes
   * only this canvas, so the WebGL points are not redrawn (in a software renderer a redraw of
   * 100k points blocks the page for seconds while the compositor reads the canvas back). The
   * data-focus / data-neighbors attributes change in the frame that shows them. */
  private drawFocus(ctx: CanvasRenderingContext2D, P: Project): void {
    const v = this.view!, d = this.d!, r = v.point_size / 2;
    const at = (row: number) => P(Array.from(d.pos.subarray(row * d.dims, row * d.dims + d.dims)));
    if (this.focus !== null) {
      ctx.lineWidth = 2;
      for (const nb of this.neighbors) {
        const q = at(nb);
        if (!q) continue;
        ctx.beginPath();
        ctx.arc(q[0], q[1], r + 4, 0, 2 * Math.PI);
        ctx.fillStyle = "rgba(255,255,255,0.6)";
        ctx.fill();
        ctx.strokeStyle = css(v.colors.neighbors);
        ctx.stroke();
      }
      const p = at(this.focus);
      if (p) drawMarker(ctx, p[0], p[1], "circle", (r + 6) / 0.8, v.colors.focus, "#ffffff");
    }
    const a = this.root.dataset;
    const focus = this.focus === null ? "" : String(this.focus), nbs = Array.from(this.neighbors).join(",");
    if (a.focus !== focus || a.neighbors !== nbs) {
      a.focus = focus;
      a.neighbors = nbs;
      if (this.clickT0) {
        a.clickMs = (performance.now() - this.clickT0).toFixed(1);
        this.clickT0 = 0;
      }
      if (this.nbT0 && nbs) {
        // neighbours drawn: from the shipped graph in the click's frame, or from the server later
        a.neighborsMs = (performance.now() - this.nbT0).toFixed(1);
        this.nbT0 = 0;
      }
    }
  }

  /** Every label candidate with its priority: markers 1000, focus 900, neighbours 800 - rank,
   * arrows 700, the view's labels and labelled sets as given, automatic labels below 0. The
   * focus and neighbour markers become obstacles no label may cover. */
  private labelRequests(P: Project, obstacles: Box[], color: string, W: number, H: number): LabelRequest[] {
    const v = this.view!, d = this.d!;
    const reqs: LabelRequest[] = [];
    const fp = v.font_px, r = v.point_size / 2;
    const Prow = (row: number) => P(Array.from(d.pos.subarray(row * d.dims, row * d.dims + d.dims)));
    const lab = (row: number) => d.labels?.get(row) ?? String(row);
    const add = (p: [number, number] | null, t: string, priority: number, kind: string, extra: Partial<LabelRequest> = {}) => {
      if (p && t) reqs.push({ x: p[0], y: p[1], text: t, priority, gap: r + 3, color, size: fp, weight: 400, kind, ...extra });
    };
    for (const mk of v.markers) if (mk.label) add(P(mk.at), mk.label, mk.priority, "marker", { gap: mk.size + 2, weight: 600 });
    if (this.focus !== null) {
      const p = Prow(this.focus);
      if (p) obstacles.push({ x: p[0] - r - 6, y: p[1] - r - 6, w: 2 * r + 12, h: 2 * r + 12 });
      add(p, lab(this.focus), 900, "focus", { gap: r + 8, weight: 600, row: this.focus });
      this.neighbors.forEach((nb, i) => {
        const q = Prow(nb);
        if (q) obstacles.push({ x: q[0] - r - 3, y: q[1] - r - 3, w: 2 * r + 6, h: 2 * r + 6 });
        add(q, lab(nb), 800 - i, "neighbor", { gap: r + 5, row: nb });
      });
    }
    for (const a of v.arrows) {
      const p0 = P(a.from), p1 = P(a.to);
      if (a.label && p0 && p1) add([(p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2], a.label, 700, "arrow", { color: css(a.color), gap: 2 });
    }
    for (const l of v.labels) {
      const p = l.row !== undefined ? Prow(l.row) : l.at ? P(l.at) : null;
      const cl = l.style === "cluster";
      add(p, l.text ?? (l.row !== undefined ? lab(l.row) : ""), l.priority, cl ? "cluster" : "label", {
        row: l.row, centred: cl, size: cl ? fp + 2 : fp, weight: cl ? 600 : 400, ...(l.color ? { color: css(l.color) } : {}),
      });
    }
    for (const spec of v.sets) {
      const rows = spec.label ? this.sets.get(spec.name)?.rows ?? EMPTY : EMPTY;
      for (let i = 0; i < Math.min(rows.length, 300); i++) add(Prow(rows[i]), lab(rows[i]), spec.priority - i * 1e-4, "set:" + spec.name, { row: rows[i] });
    }
    if (v.auto_labels > 0) this.autoLabels(W, H, v.auto_labels, (p, row) =>
        add(p, lab(row), -1 - row / d.n, "auto", { row, size: fp - 1, color: "rgba(80,82,95,0.85)" }));
    return reqs;
  }

  /** Candidate labels for points on screen, in row order (the data's own priority). */
  private autoLabels(W: number, H: number, want: number, add: (p: [number, number], row: number) => void): void {
    const m = this.viewport().pixelProjectionMatrix;
    const d = this.d!;
    const budget = Math.min(d.n, 200_000);
    let found = 0;
    for (let row = 0; row < budget && found < want * 4; row++) {
      const p = projectOne(m, d.pos[row * d.dims], d.pos[row * d.dims + 1], d.dims === 3 ? d.pos[row * d.dims + 2] : 0);
      if (!p || p[0] < 0 || p[1] < 0 || p[0] > W || p[1] > H) continue;
      found++;
      add(p, row);
    }
  }

  private chromeBoxes(): Box[] {
    const pr = this.plot.getBoundingClientRect();
    const out: Box[] = [];
    for (const e of [this.toolbar, this.legend]) {
      if (e.style.display === "none") continue;
      const b = e.getBoundingClientRect();
      if (b.width && b.height) out.push({ x: b.left - pr.left, y: b.top - pr.top, w: b.width, h: b.height });
    }
    return out;
  }

  private writeLabelState(W: number, H: number): void {
    const a = this.root.dataset, d = this.d!, vs = this.vs;
    const q = (x: number) => Math.round(x * 10) / 10;
    a.labels = JSON.stringify(this.placed.map((p) => ({ t: p.text, x: q(p.x), y: q(p.y), w: q(p.w), h: q(p.h), row: p.row, kind: p.kind })));
    const mapSpec = this.view!.map;
    const toData = (x: number, j: number) => x * mapSpec.scale + mapSpec.center[j];
    if (d.dims === 2) {
      const s = 2 ** vs.zoom;
      a.view = JSON.stringify({
        x: [toData(vs.target[0] - W / 2 / s, 0), toData(vs.target[0] + W / 2 / s, 0)],
        y: [toData(vs.target[1] - H / 2 / s, 1), toData(vs.target[1] + H / 2 / s, 1)],
      });
    } else {
      a.view = JSON.stringify({ target: vs.target, zoom: vs.zoom, rotationX: vs.rotationX, rotationOrbit: vs.rotationOrbit });
    }
    a.mode = this.mode;
    // what is drawn over the points, in data coordinates (for tests and measurements)
    const data = (p: number[]) => p.map(toData);
    const v = this.view!;
    a.arrows = JSON.stringify(v.arrows.map((x) => ({ from: data(x.from), to: data(x.to), color: x.color, label: x.label })));
    a.markers = JSON.stringify(v.markers.map((m) => ({ at: data(m.at), shape: m.shape, label: m.label })));
    a.sets = JSON.stringify(Object.fromEntries(v.sets.map((s) => [s.name, this.sets.get(s.name)?.rows.length ?? 0])));
  }

  // ---- interaction -------------------------------------------------------------------------
  /** Projected positions for the current camera (cached until the camera or the size changes). */
  private projected(): { xy: Float32Array; w: Float32Array } | null {
    const vp = this.viewport(), d = this.d;
    if (!vp || !d) return null;
    const key = JSON.stringify(this.vs) + "|" + vp.width + "x" + vp.height;
    if (this.proj?.key !== key) {
      const w = new Float32Array(d.n);
      this.proj = { key, xy: projectAll(vp.pixelProjectionMatrix, d.pos, d.dims, w), w };
    }
    return this.proj;
  }

  private pickAt(x: number, y: number): number {
    const p = this.projected(), v = this.view;
    if (!p || !v) return -1;
    const r = v.point_size / 2;
    return pickNearest(p.xy, this.d!.dims === 3 ? p.w : null, x, y, r + 1.5, r + 5);
  }

  private click(e: PointerEvent, x: number, y: number): void {
    const row = this.pickAt(x, y);
    if (row < 0) return;
    this.clickT0 = this.lastClick = this.nbT0 = e.timeStamp || performance.now();
    this.root.dataset.clickAt = this.clickT0.toFixed(1);
    this.setFocus(row, true);
    this.render();
    this.flushReport();
  }

  private hover(x: number, y: number): void {
    const v = this.view;
    if (!v?.tooltip || this.drawing || !this.d) return this.hideTip();
    const row = this.pickAt(x, y);
    if (row < 0) return this.hideTip();
    const [W] = this.size();
    this.tip.style.display = "block";
    this.tip.style.left = `${Math.min(x + 14, W - 200)}px`;
    this.tip.style.top = `${y + 14}px`;
    if (row === this.hoverRow) return;
    this.hoverRow = row;
    const label = this.d.labels?.get(row) ?? `row ${row}`;
    const key = `${this.mapId}/${row}`;
    renderTooltip(this.tip, label, this.details.get(key) ?? null);
    this.root.dataset.hover = String(row);
    clearTimeout(this.tipTimer);
    if (!this.details.has(key) && v.map.details) {
      const url = `${v.map.details}/row/${row}`;
      this.tipTimer = window.setTimeout(() => {
        fetch(url, { credentials: "same-origin" })
          .then((r) => (r.ok ? r.json() : null))
          .then((j: RowDetails | null) => {
            if (!j) return;
            if (this.details.size > 500) this.details.clear();
            this.details.set(key, j);
            if (this.hoverRow === row) renderTooltip(this.tip, label, j);
          })
          .catch(() => {});
      }, 120);
    }
  }

  private hideTip(): void {
    this.tip.style.display = "none";
    this.hoverRow = -1;
    delete this.root.dataset.hover;
  }

  private local(e: PointerEvent): [number, number] {
    const b = this.plot.getBoundingClientRect();
    return [e.clientX - b.left, e.clientY - b.top];
  }

  private onPointerDown(e: PointerEvent): void {
    if (e.button !== 0 || !this.d || (e.target as HTMLElement).closest?.(".toolbar, .legend")) return;
    const p = this.local(e);
    if (this.mode === "pan") {
      this.press = p;
      return;
    }
    this.drawing = [p];
    this.plot.setPointerCapture(e.pointerId);
    this.hideTip();
  }

  private onPointerMove(e: PointerEvent): void {
    const p = this.local(e);
    if (!this.drawing) {
      if (e.buttons !== 0) return this.hideTip(); // panning or rotating
      this.hoverAt = p;
      if (!this.hoverQueued) {
        this.hoverQueued = true;
        requestAnimationFrame(() => {
          this.hoverQueued = false;
          if (this.hoverAt) this.hover(this.hoverAt[0], this.hoverAt[1]);
        });
      }
      return;
    }
    const last = this.drawing[this.drawing.length - 1];
    if (Math.hypot(p[0] - last[0], p[1] - last[1]) < 2) return;
    if (this.mode === "box" && this.drawing.length > 1) this.drawing[1] = p;
    else this.drawing.push(p);
    this.scheduleOverlay();
  }

  private onPointerUp(e: PointerEvent): void {
    const p = this.local(e);
    if (this.press) {
      const moved = Math.hypot(p[0] - this.press[0], p[1] - this.press[1]);
      this.press = null;
      if (moved < 5 && this.mode === "pan") this.click(e, p[0], p[1]);
      return;
    }
    if (!this.drawing) return;
    const pts = this.drawing;
    pts.push(p);
    this.drawing = null;
    const xy = this.projected()?.xy, d = this.d;
    if (!xy || !d) return;
    const big = pts.length > 2 || Math.hypot(pts[0][0] - pts[pts.length - 1][0], pts[0][1] - pts[pts.length - 1][1]) > 3;
    if (!big) return this.scheduleOverlay();
    const rows =
      this.mode === "box" ? selectBox(xy, pts[0][0], pts[0][1], pts[pts.length - 1][0], pts[pts.length - 1][1]) : selectLasso(xy, pts);
    this.setSelection(rows, true, this.mode);
    this.render();
    this.flushReport();
  }

  private cancelDrawing(): void {
    this.drawing = null;
    this.scheduleOverlay();
  }

  setMode(mode: Mode): void {
    this.mode = mode;
    for (const k of ["pan", "box", "lasso"]) this.buttons[k].setAttribute("aria-pressed", String(k === mode));
    this.deck?.setProps({ controller: this.controller() });
    this.root.dataset.mode = mode;
  }

  private buildToolbar(): void {
    const b = (key: string, text: string, title: string, fn: () => void) => {
      const btn = el("button", "", text);
      btn.type = "button";
      btn.title = title;
      btn.dataset.action = key;
      btn.addEventListener("click", (e) => {
        e.stopPropagation();
        fn();
      });
      this.buttons[key] = btn;
      return btn;
    };
    this.toolbar.append(
      b("pan", "Pan", "Drag to move (3D: to rotate; right-drag to move); scroll to zoom", () => this.setMode("pan")),
      b("box", "Box", "Drag a rectangle to select points", () => this.setMode("box")),
      b("lasso", "Lasso", "Draw around points to select them", () => this.setMode("lasso")),
      el("span", "sep"),
      b("zfocus", "Zoom to focus", "Fit the clicked point and its neighbours", () => this.zoomTo("focus")),
      b("zsel", "Zoom to selection", "Fit the selected points", () => this.zoomTo("selection")),
      b("reset", "Reset view", "Show all points", () => this.zoomTo("all")),
      b("clear", "Clear selection", "Forget the selection", () => {
        this.setSelection(null, true);
        this.render();
        this.flushReport();
      }),
      this.count,
    );
    this.buttons.pan.setAttribute("aria-pressed", "true");
    this.buttons.zsel.disabled = this.buttons.clear.disabled = true;
  }

  // ---- messages, teardown --------------------------------------------------------------------
  private showMessage(text: string): void {
    this.msg.textContent = text;
    this.msg.style.display = "flex";
  }

  private hideMessage(): void {
    this.msg.style.display = "none";
  }

  private fail(text: string, code: string): void {
    this.showMessage(text);
    this.root.dataset.error = code;
    this.toolbar.style.display = "none";
  }

  destroy(): void {
    this.destroyed = true;
    this.abort?.abort();
    this.resize.disconnect();
    clearTimeout(this.tipTimer);
    clearTimeout(this.camTimer);
    this.deck?.finalize();
    this.deck = null;
    this.root.remove();
  }
}

function expandColors(h: any, sec: Record<string, any>): Uint8Array {
  const n = h.n;
  const c = h.color ?? { kind: "constant", rgba: [31, 119, 180, 255] };
  if (c.kind === "rgba") return sec.rgba as Uint8Array;
  const out = new Uint8Array(4 * n);
  if (c.kind === "codes") {
    const codes = sec.codes as Uint8Array | Uint16Array;
    const pal: RGBA[] = c.palette;
    for (let i = 0; i < n; i++) out.set(pal[codes[i]] ?? [128, 128, 128, 255], 4 * i);
  } else {
    for (let i = 0; i < n; i++) out.set(c.rgba, 4 * i);
  }
  return out;
}
