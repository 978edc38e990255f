// Compact row sets, the same encodings as viz_app/map/rowsets.py:
//   {"n": count, "packed": base64 of sorted uint32 LE rows}
//   {"n": count, "bits": base64 of a bitset over all rows, bit i of byte i >> 3 = row i}
//   {"n": count, "url": URL of a lens-map "rows" file (section "rows", uint32)}
import { fetchBlob } from "./blob";

export interface RowSpec {
  n: number;
  packed?: string;
  bits?: string;
  url?: string;
}

export function b64decode(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function b64encode(bytes: Uint8Array): string {
  let s = "";
  const CH = 0x8000;
  for (let i = 0; i < bytes.length; i += CH) {
    s += String.fromCharCode.apply(null, Array.from(bytes.subarray(i, i + CH)));
  }
  return btoa(s);
}

function fromBits(bits: Uint8Array, count: number, nPoints: number): Uint32Array {
  const out = new Uint32Array(count);
  let j = 0;
  for (let byte = 0; byte < bits.length && j < count; byte++) {
    let v = bits[byte];
    while (v) {
      const bit = 31 - Math.clz32(v & -v);
      const row = (byte << 3) + bit;
      if (row < nPoints) out[j++] = row;
      v &= v - 1;
    }
  }
  return j === count ? out : out.subarray(0, j);
}

/** Rows of a spec (sorted uint32), fetching by URL when the set was too large to inline. */
export async function decodeRows(spec: RowSpec | null | undefined, nPoints: number): Promise<Uint32Array> {
  if (!spec || !spec.n) return new Uint32Array(0);
  if (spec.packed !== undefined) {
    const b = b64decode(spec.packed);
    return new Uint32Array(b.buffer, b.byteOffset, b.byteLength >> 2).slice();
  }
  if (spec.bits !== undefined) return fromBits(b64decode(spec.bits), spec.n, nPoints);
  if (spec.url !== undefined) {
    const blob = await fetchBlob(spec.url);
    return blob.sections.rows as Uint32Array;
  }
  throw new Error("row set: unknown encoding");
}

/** The smaller of the packed and bitset encodings of sorted, distinct rows. */
export function encodeRows(rows: Uint32Array, nPoints: number): RowSpec {
  const packedBytes = rows.length * 4;
  const bitBytes = (nPoints + 7) >> 3;
  if (packedBytes <= bitBytes) {
    const copy = rows.slice();
    return { n: rows.length, packed: b64encode(new Uint8Array(copy.buffer)) };
  }
  const bits = new Uint8Array(bitBytes);
  for (let i = 0; i < rows.length; i++) bits[rows[i] >> 3] |= 1 << (rows[i] & 7);
  return { n: rows.length, bits: b64encode(bits) };
}
