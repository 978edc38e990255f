// The map's binary files ("lens-map blobs"), written by viz_app/map/encode.py.
//
// Layout: b"ELM1", u32 LE header length H, H bytes of UTF-8 JSON, zero padding to a multiple
// of 8, then the sections at the (8-aligned) offsets the header names:
//   {"format": "lens-map", "version": 1, "kind": "points" | "labels" | "knn" | "rows",
//    "sections": {"positions": {"offset": 64, "dtype": "float32", "shape": [n, 2]}, ...}, ...}
// Sections are views on the fetched ArrayBuffer: nothing is copied per point.

export type Typed = Float32Array | Uint8Array | Uint16Array | Uint32Array;

export interface SectionSpec {
  offset: number;
  dtype: "float32" | "uint8" | "uint16" | "uint32";
  shape: number[];
}

export interface LensBlob {
  header: Record<string, any>;
  sections: Record<string, Typed>;
  bytes: number;
}

const MAGIC = [0x45, 0x4c, 0x4d, 0x31]; // "ELM1"

export function decodeBlob(buffer: ArrayBuffer): LensBlob {
  const head = new Uint8Array(buffer, 0, Math.min(8, buffer.byteLength));
  if (buffer.byteLength < 8 || MAGIC.some((b, i) => head[i] !== b)) {
    throw new Error("not a lens-map file (bad magic)");
  }
  const hlen = new DataView(buffer).getUint32(4, true);
  if (8 + hlen > buffer.byteLength) throw new Error("lens-map file truncated (header)");
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, hlen)));
  const sections: Record<string, Typed> = {};
  for (const [name, spec] of Object.entries(header.sections || {}) as [string, SectionSpec][]) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const Ctor = { float32: Float32Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array }[spec.dtype];
    if (!Ctor) throw new Error(`lens-map section ${name}: unknown dtype ${spec.dtype}`);
    if (spec.offset + count * Ctor.BYTES_PER_ELEMENT > buffer.byteLength) {
      throw new Error(`lens-map section ${name} truncated`);
    }
    sections[name] = new Ctor(buffer, spec.offset, count);
  }
  return { header, sections, bytes: buffer.byteLength };
}

// One fetch per URL per page; URLs are content-addressed, so a cached copy is never stale.
const cache = new Map<string, Promise<LensBlob>>();
const CACHE_MAX = 12;
// Files given with the page itself (the self-contained HTML export: base64, no server).
const inline = new Map<string, string>();

/** Make ``url`` resolve to these bytes (base64) instead of a request. */
export function registerInline(url: string, base64: string): void {
  inline.set(url, base64);
}

function b64bytes(s: string): ArrayBuffer {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out.buffer;
}

/**
 * The decoded file at ``url``, fetched once per page and shared by every caller (two linked
 * maps of the same items share their labels file). No caller can cancel the shared request:
 * a caller that no longer wants the result ignores it (a cancelled request's rejected promise
 * would otherwise be handed to the next caller of the same URL, e.g. a map whose reducer
 * changed while its labels were still loading).
 */
export function fetchBlob(url: string): Promise<LensBlob> {
  const local = inline.get(url);
  if (local !== undefined) return Promise.resolve().then(() => decodeBlob(b64bytes(local)));
  let p = cache.get(url);
  if (p) {
    cache.delete(url); // move to the end (most recently used)
    cache.set(url, p);
    return p;
  }
  p = fetch(url, { credentials: "same-origin" }).then(async (r) => {
    if (!r.ok) throw new Error(`map data ${r.status} ${r.statusText}`);
    return decodeBlob(await r.arrayBuffer());
  });
  p.catch(() => cache.delete(url));
  cache.set(url, p);
  while (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value as string);
  return p;
}

/** Lazily decoded UTF-8 labels: offsets (n + 1) uint32 into one text section. */
export class Labels {
  private dec = new TextDecoder();
  private memo = new Map<number, string>();
  constructor(private offsets: Uint32Array, private text: Uint8Array) {}
  get length(): number {
    return this.offsets.length - 1;
  }
  get(i: number): string {
    if (!(i >= 0 && i < this.length)) return "";
    let s = this.memo.get(i);
    if (s === undefined) {
      s = this.dec.decode(this.text.subarray(this.offsets[i], this.offsets[i + 1]));
      if (this.memo.size > 50_000) this.memo.clear();
      this.memo.set(i, s);
    }
    return s;
  }
}
