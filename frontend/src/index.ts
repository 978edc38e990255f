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

const instances = new WeakMap<object, LensMap>();

export default function mount({ data, parentElement, setStateValue }: Args): () => void {
  let map = instances.get(parentElement);
  if (!map) {
    map = new LensMap(parentElement);
    map.root.dataset.build = BUILD;
    instances.set(parentElement, map);
  }
  map.report = setStateValue;
  if (data && typeof data === "object" && data.map) map.update(data);
  const m = map;
  return () => {
    m.destroy();
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
