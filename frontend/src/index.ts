// Entry of the live map bundle (Streamlit components v2). Streamlit calls the default export on
// mount and again, without cleanup, whenever the component's data changes; so one LensMap per
// parent element is kept and updated, and the returned cleanup (run on unmount) finalizes deck.gl.
import { registerInline } from "./blob";
import { LensMap } from "./map";

declare const __LENS_BUILD__: string;
export const BUILD = __LENS_BUILD__;

interface Args {
  data: any;
  parentElement: HTMLElement | ShadowRoot;
  setStateValue: (name: string, value: unknown) => void;
}

/** The map of each parent element, with the number of the latest call for it. */
const instances = new WeakMap<object, { map: LensMap; calls: number }>();

export default function mount({ data, parentElement, setStateValue }: Args): () => void {
  let entry = instances.get(parentElement);
  if (!entry) {
    entry = { map: new LensMap(parentElement), calls: 0 };
    entry.map.root.dataset.build = BUILD;
    instances.set(parentElement, entry);
  }
  const call = ++entry.calls;
  entry.map.report = setStateValue;
  if (data && typeof data === "object" && data.map) entry.map.update(data);
  const mine = entry;
  return () => {
    // Streamlit also runs the cleanup of a superseded call: when the data changed again while
    // this call was still loading the module, it calls the cleanup this call returns at once,
    // possibly after the newer call has updated the same map (Streamlit 1.67's BidiComponent).
    // Only the latest call's cleanup, the one Streamlit runs on unmount, may destroy the map:
    // a superseded one destroyed a map in use, which then vanished from the page.
    if (instances.get(parentElement) !== mine || mine.calls !== call) {
      const d = mine.map.root.dataset;
      d.superseded = String(Number(d.superseded ?? 0) + 1); // how often it happened (diagnostics)
      return;
    }
    mine.map.destroy();
    instances.delete(parentElement);
  };
}

/** The self-contained HTML export (viz_app/export/interactive.py): draw ``view`` into
 * ``parent`` with the map's files given inline (URL -> base64); nothing is fetched and clicks
 * are answered from the shipped kNN graph. Exposed as ``globalThis.LensMapStandalone``, since an
 * inline module's exports cannot be imported from a file:// page. */
export function standalone(parent: HTMLElement, view: any, files: Record<string, string>): LensMap {
  for (const [url, b64] of Object.entries(files)) registerInline(url, b64);
  const map = new LensMap(parent);
  map.root.dataset.build = BUILD;
  map.update(view);
  return map;
}
(globalThis as any).LensMapStandalone = standalone;
