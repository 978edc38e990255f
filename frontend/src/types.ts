// The per-rerun "view" JSON, written by viz_app/map/view.py (``MapView.payload``). Positions of
// arrows, markers and free labels are already in the map's normalised coordinates.
import type { RowSpec } from "./rowset";

export type RGBA = [number, number, number, number];

export interface MapSpec {
  id: string; // content token of the map's data
  n: number;
  dims: 2 | 3;
  points: string; // URL of the points file
  labels: string | null; // URL of the labels file
  knn: string | null; // URL of the kNN file (n <= 200,000), else null
  knn_k: number; // neighbours per row in the kNN file
  details: string | null; // URL prefix of the row endpoints (/row/<i>, /knn/<i>?k=)
  center: number[]; // data = normalised * scale + center
  scale: number;
}

export interface SetSpec {
  name: string;
  rows: RowSpec;
  color: RGBA;
  style: "ring" | "fill" | "halo";
  size: number;
  label: boolean;
  priority: number;
}

export interface ArrowSpec {
  from: number[];
  to: number[];
  color: RGBA;
  label: string | null;
  width: number;
}

export interface MarkerSpec {
  at: number[];
  shape: "star" | "diamond" | "cross" | "circle" | "square";
  color: RGBA;
  size: number;
  label: string | null;
  priority: number;
}

export interface LabelSpec {
  row?: number;
  at?: number[];
  text?: string;
  priority: number;
  style: "point" | "cluster";
  color?: RGBA | null;
}

// A restored camera, in the map's normalised coordinates (zoom: log2 of pixels per unit).
export interface CameraSpec {
  target: number[];
  zoom: number;
  rotationOrbit?: number;
  rotationX?: number;
}

export interface ZoomSpec {
  to: "focus" | "selection" | "all" | { camera: CameraSpec } | RowSpec;
  seq: number;
}

// Numbered axes (viz_app/map/ticks.py): per axis, value = normalised * scale + offset; `ticks`
// are the core's values for the whole data range (the page recomputes them for what it shows).
export interface AxisSpec {
  title: string;
  offset: number;
  scale: number;
  ticks: number[];
}

export interface AxesSpec {
  max_ticks: number; // at most this many ticks per axis (6..12) ...
  tick_px: number; // ... and at most 1 + the axis length in px // tick_px (at least 6)
  x: AxisSpec;
  y: AxisSpec;
}

export interface ViewSpec {
  v: number;
  map: MapSpec;
  focus: number | null;
  k: number;
  sets: SetSpec[];
  arrows: ArrowSpec[];
  markers: MarkerSpec[];
  labels: LabelSpec[];
  selection: RowSpec | null;
  zoom: ZoomSpec | null;
  point_size: number;
  opacity: number;
  dim: number | null;
  auto_labels: number;
  label_max_px: number;
  font_px: number;
  height: number;
  tooltip: boolean;
  colors: { focus: RGBA; neighbors: RGBA };
  axes?: AxesSpec | null; // 2-D maps with meaningful coordinates only (semantic axes)
}
