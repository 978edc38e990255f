"""Write the malformed and edge-case input files of ``tests/data/bad/`` (deterministic).

Run from the project root: ``.venv/bin/python tests/data/bad/make_files.py``. The files are
kept in the repository; this script documents how each was made. The expected error class and
message words of each file are in ``tests/unit/test_bad_input.py``.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


class _Payload:
    """Unpickling this runs ``print``: the test asserts it never happens."""

    def __reduce__(self):
        return (print, ("UNPICKLED: viz_app ran pickled code",))


def _npy(arr: np.ndarray, **kw) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, **kw)
    return buf.getvalue()


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _npz_bomb(shape=(40_000, 1_000)) -> bytes:
    """A zip member ``vectors.npy`` of float32 zeros: ~155 kB that declares 160 MB."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": shape})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open("vectors.npy", "w", force_zip64=True) as fh:
            fh.write(header.getvalue())
            chunk = bytes(1 << 20)
            left = shape[0] * shape[1] * 4
            while left:
                fh.write(chunk[: min(left, len(chunk))])
                left -= min(left, len(chunk))
    return buf.getvalue()


def _npy_huge_header() -> bytes:
    """A 128-byte ``.npy`` whose header declares 10^6 x 10^6 float32 (4 TB) and no data."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (10**6, 10**6)})
    return header.getvalue()


def _parquet_corrupt() -> bytes:
    df = pd.DataFrame({"label": ["king", "queen", "man", "woman"], "vector": [[0.1, 0.2, 0.3]] * 4})
    buf = io.BytesIO()
    df.to_parquet(buf)
    data = bytearray(buf.getvalue())
    data[4:200] = bytes(range(196))  # data pages overwritten; footer intact
    return bytes(data)


def files() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    words = "label,x,y\nking,0.5,0.7\nqueen,0.4,1.8\nman,-0.2,0.1\n"
    return {
        # ---- refused ------------------------------------------------------------------------
        "empty.csv": b"",
        "header_only.csv": b"label,x,y\n",
        "too_few_fields.csv": b"label,x,y\nking,0.5,0.7\nqueen,0.4\nman,-0.2,0.1\n",
        "too_many_fields.csv": b"label,x,y\nking,0.5,0.7\nqueen,0.4,1.8,2.2\nman,-0.2,0.1\n",
        "unterminated_quote.csv": b'label,x,y\nking,0.5,0.7\n"queen,0.4,1.8\nman,-0.2,0.1\n',
        "decimal_comma_in_comma_csv.csv": b"label,x,y\nking,0.5,0.7\nqueen,0,4,1,8\nman,-0.2,0.1\n",
        "decimal_comma_mixed.csv": b"label;x;y\nking;0,5;0,7\nqueen;0,4;1.8\nman;-0,2;0,1\nwoman;0,3;0,2\n",
        "non_number.csv": b"label,x,y\nking,0.5,0.7\nqueen,0.4,abc\nman,-0.2,0.1\n",
        "nan_cell.csv": b"label,x,y\nking,0.5,0.7\nqueen,0.4,1.8\nman,nan,0.1\n",
        "inf_cell.csv": b"label,x,y\nking,0.5,0.7\nqueen,0.4,inf\nman,-0.2,0.1\n",
        "empty_cell.csv": b"label,x,y\nking,0.5,\nqueen,0.4,1.8\nman,-0.2,0.1\n",
        "overflow_float32.csv": b"label,x,y\nking,0.5,0.7\nqueen,0.4,1e39\nman,-0.2,0.1\n",
        "duplicate_columns.csv": b"label,x,x\nking,0.5,0.7\nqueen,0.4,1.8\n",
        "oversized_field.csv": b"label,x,y\n" + b"k" * 140_000 + b",0.5,0.7\nqueen,0.4,1.8\n",
        "nul_bytes.csv": b"label,x,y\nking,0.5,0.7\nque\x00en,0.4,1.8\n",
        "utf16_no_bom.csv": words.encode("utf-16-le"),
        "binary_junk.csv": rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "ragged_lists.csv": b'label,vector\nking,"[0.5, 0.7, 0.1]"\nqueen,"[0.4, 1.8]"\n',
        "one_number_per_line.txt": b"0.5\n0.4\n-0.2\n",
        "one_dim.npy": _npy(np.arange(5, dtype=np.float32).reshape(5, 1)),
        "meta_mismatch_tensors.tsv": b"0.5\t0.7\n0.4\t1.8\n-0.2\t0.1\n0.3\t0.2\n",
        "meta_mismatch_metadata.tsv": b"king\nqueen\nman\n",
        "object_dtype.npy": _npy(np.array([_Payload(), 1], dtype=object), allow_pickle=True),
        "raw_pickle.npy": pickle.dumps({"vectors": [[0.5, 0.7]]}, protocol=4),
        "truncated.npy": _npy(rng.normal(size=(100, 8)).astype(np.float32))[:1000],
        "string_dtype.npy": _npy(np.array([["king", "queen"], ["man", "woman"]])),
        "huge_header.npy": _npy_huge_header(),
        "pickled_member.npz": _npz(vectors=np.array([_Payload(), 1], dtype=object)),
        "npz_bomb.npz": _npz_bomb(),
        "too_many_members.npz": _npz(vectors=np.ones((2, 2), np.float32), **{f"m{i}": np.zeros(2) for i in range(99)}),
        "corrupt.parquet": _parquet_corrupt(),
        # ---- loaded (with a notice where something is odd) ----------------------------------
        "utf8_bom.csv": b"\xef\xbb\xbf" + "label,x,y\ncafé,0.5,0.7\nnaïve,0.4,1.8\n".encode(),
        "utf16_bom.csv": "label,x,y\ncafé,0.5,0.7\nnaïve,0.4,1.8\n".encode("utf-16"),
        "latin1.csv": "label,x,y\ncafé,0.5,0.7\nnaïve,0.4,1.8\n".encode("latin-1"),
        "semicolon_decimal_comma.csv": b"label;x;y\nking;0,5;0,7\nqueen;0,4;1,8\nman;-0,2;1e-1\n",
        "duplicate_labels.csv": b"label,x,y\nking,0.5,0.7\nking,0.4,1.8\nking,-0.2,0.1\n",
        "identical_vectors.csv": b"label,x,y\n" + b"".join(b"w%d,0.5,0.7\n" % i for i in range(20)),
        "zero_vectors.csv": b"label,x,y,z\n"
        + b"".join(
            b"w%d,%.4f,%.4f,%.4f\n" % (i, *(v if i % 10 else (0.0, 0.0, 0.0)))
            for i, v in enumerate(rng.normal(size=(40, 3)))
        ),
        "one_numeric_column.csv": b"text,score\nthe storm closed the road,0.5\na gripping film,0.7\n",
        "three_points.csv": b"label,x,y,z\na,0.1,0.2,0.3\nb,0.3,0.1,0.2\nc,0.2,0.3,0.1\n",
    }


def main() -> None:
    for name, data in files().items():
        (HERE / name).write_bytes(data)
        print(f"{name:36s} {len(data):>9,d} bytes")


if __name__ == "__main__":
    main()
