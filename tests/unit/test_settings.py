"""Reproducibility settings: schema, round trips, carriers (PNG/SVG/HTML) and identical re-projection."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

import viz_app
from viz_app import DataFormatError, EmbeddingSet, ParameterError
from viz_app.export.settings import (
    check_fingerprint,
    embed_in_html,
    embed_in_png,
    embed_in_svg,
    extract_settings,
    load_settings,
    params_from_settings,
    save_settings,
    settings_for,
    settings_json,
    validate_settings,
)
from viz_app.reduce.project import project_with

ROOT = Path(__file__).resolve().parents[2]


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


# the smallest valid PNG: one white RGB pixel
PNG_1X1 = (
    b"\x89PNG\r\n\x1a\n"
    + _chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    + _chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff"))
    + _chunk(b"IEND", b"")
)


@pytest.fixture(scope="module")
def pca_settings(digits_small):
    proj = viz_app.project(digits_small, reducer="pca")
    return (
        digits_small,
        proj,
        settings_for(
            digits_small, proj, dataset_ref={"kind": "sample", "key": "digits"}, color_by="digit", extra={"focus": "3"}
        ),
    )


def test_settings_record_data_projection_and_versions(pca_settings):
    es, proj, s = pca_settings
    assert s["format"] == "embedding-lens/settings" and s["version"] == 1
    assert s["dataset"] == {
        "name": es.name,
        "fingerprint": es.fingerprint,
        "n_samples": 600,
        "n_features": 64,
        "model_name": None,
        "ref": {"kind": "sample", "key": "digits"},
    }
    assert s["projection"] == {"reducer": "pca", "n_components": 2, "random_state": 0}
    assert s["view"] == {"color_by": "digit"} and s["extra"] == {"focus": "3"}
    v = s["versions"]
    assert v["viz_app"] == viz_app.__version__ and v["numpy"] == np.__version__
    assert {"scikit-learn", "umap-learn", "openTSNE", "plotly", "sentence-transformers"} <= set(v)
    assert s["created_utc"].endswith("Z") and len(s["created_utc"]) == 20
    assert settings_for(es, proj, dataset_ref="words.csv")["dataset"]["ref"] == {"kind": "file", "name": "words.csv"}


def test_settings_for_imports_no_heavy_library():
    code = (
        "import sys, numpy as np, viz_app; from viz_app.export.settings import settings_for\n"
        "es = viz_app.EmbeddingSet(np.eye(5, dtype=np.float32))\n"
        "p = viz_app.Projection(np.zeros((5, 2)), viz_app.make_params('pca'), es.fingerprint)\n"
        "s = settings_for(es, p)\n"
        "print(s['versions']['umap-learn'] is not None, sorted(m for m in ('torch', 'umap', 'sentence_transformers',"
        " 'openTSNE', 'sklearn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "True []"


def test_settings_refuse_other_data_and_non_json(pca_settings, digits_set):
    es, proj, s = pca_settings
    with pytest.raises(ParameterError, match="not computed from"):
        settings_for(digits_set, proj)
    with pytest.raises(ParameterError, match="JSON"):
        settings_for(es, proj, extra={"when": object()})
    check_fingerprint(es, s)  # same data: fine
    with pytest.raises(ParameterError) as exc:
        check_fingerprint(digits_set, s)
    msg, ds = str(exc.value), s["dataset"]
    assert msg.startswith(f"this view was made from {ds['name']}, {ds['n_samples']:,} x {ds['n_features']}")
    assert f"1,797 points instead of {ds['n_samples']:,}" in msg and f"fingerprint {ds['fingerprint'][:12]}" in msg
    assert msg.endswith(f"Upload {ds['name']} to restore the view")


def test_settings_keep_the_whole_view(pca_settings):
    es, proj, _ = pca_settings
    view = {
        "clusters": {"method": "hdbscan", "min_cluster_size": 12, "space": "original"},
        "k": 7,
        "nn_metric": "euclidean",
        "search": "king",
        "search_regex": False,
        "focus": str(es.ids[3]),
        "selection": [str(i) for i in es.ids[:4]],
        "point_size": 6.5,
        "opacity": 0.6,
        "camera": None,
    }
    s = settings_for(es, proj, color_by=None, view=view)
    back = load_settings(settings_json(s).encode())
    assert back["view"] == {"color_by": None, **view}
    with pytest.raises(DataFormatError, match="unknown key 'view.zoom'"):
        load_settings(settings_json({**s, "view": {**s["view"], "zoom": 2}}).encode())


def test_settings_carry_the_maps_trust_summary(pca_settings):
    from viz_app import trust

    es, proj, _ = pca_settings
    summary = trust(es, proj, k=10).summary()
    back = load_settings(settings_json(settings_for(es, proj, trust=summary)).encode())
    assert back["trust"] == summary and 0.5 < back["trust"]["trustworthiness"] <= 1.0
    assert "trust" not in settings_for(es, proj)  # only when the figures are known


def test_save_and_load_round_trip(pca_settings, tmp_path):
    _, _, s = pca_settings
    path = save_settings(s, tmp_path / "map.settings.json")
    assert load_settings(path) == s and load_settings(path.read_bytes()) == s
    assert json.loads(path.read_text(encoding="utf-8")) == s


def _mutated(s: dict, path: str, value) -> bytes:
    d = json.loads(json.dumps(s))
    *parents, last = path.split(".")
    node = d
    for p in parents:
        node = node[p]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return json.dumps(d).encode()


@pytest.mark.parametrize(
    "path, value, match",
    [
        ("colour", "red", "unknown key 'colour'"),
        ("projection.n_neigbors", 15, r"unknown key 'projection.n_neigbors'"),
        ("projection.random_state", "0", r"'projection.random_state' must be int"),
        ("projection.n_components", True, r"'projection.n_components' must be int"),
        ("dataset.fingerprint", KeyError, r"missing key 'dataset.fingerprint'"),
        ("dataset.fingerprint", "abc", "64 lowercase hex"),
        ("dataset", [], r"'dataset' must be object"),
        ("view.color_by", 3, r"'view.color_by' must be str or null"),
        ("versions.numpy", 2, r"'versions.numpy' must be str or null"),
        ("format", "other/thing", "'format' must be"),
        ("version", 2, "reads versions 1..1"),
    ],
)
def test_invalid_settings_name_the_key(pca_settings, path, value, match):
    _, _, s = pca_settings
    with pytest.raises(DataFormatError, match=match):
        load_settings(_mutated(s, path, value))


def test_malformed_files_are_refused(tmp_path):
    with pytest.raises(DataFormatError, match="not valid JSON"):
        load_settings(b'{"format": ')
    with pytest.raises(DataFormatError, match="must be a JSON object"):
        validate_settings([1, 2])
    with pytest.raises(DataFormatError, match="no Embedding Lens settings"):
        load_settings(PNG_1X1)
    with pytest.raises(DataFormatError, match="cannot be opened"):
        load_settings(tmp_path / "missing.json")


def test_out_of_bounds_parameters_are_refused(pca_settings):
    _, _, s = pca_settings
    bad = json.loads(
        _mutated(
            s,
            "projection",
            {
                "reducer": "umap",
                "n_components": 2,
                "random_state": 0,
                "metric": "cosine",
                "n_neighbors": 500,
                "min_dist": 0.1,
            },
        )
    )
    with pytest.raises(ParameterError, match="n_neighbors must be in"):
        params_from_settings(bad)
    bad["projection"] = {"reducer": "pca", "n_components": 2, "random_state": 0, "perplexity": 30}
    with pytest.raises(ParameterError, match="does not apply"):
        params_from_settings(bad)


def test_carriers_round_trip_and_html_cannot_be_broken_out_of(pca_settings):
    es, proj, _ = pca_settings
    evil = EmbeddingSet(es.vectors, labels=es.labels, name="</script><script>alert(1)</script> & <b>")
    s2 = settings_for(evil, proj)
    page = "<html><body><div>map</div></body></html>"
    out = embed_in_html(page, s2)
    assert out.count("</script>") == 1 and "alert(1)</script>" not in out and out.endswith("</body></html>")
    assert json.loads(extract_settings(out.encode())) == s2
    svg = embed_in_svg(b'<svg xmlns="http://www.w3.org/2000/svg" width="10"><g/></svg>', s2)
    assert load_settings(svg) == s2 and b"<script>" not in svg
    png = embed_in_png(PNG_1X1, s2)
    assert load_settings(png) == s2 and png.endswith(PNG_1X1[-12:])
    with pytest.raises(DataFormatError, match="not a PNG"):
        embed_in_png(b"GIF89a", s2)


@pytest.mark.slow
def test_settings_reproduce_a_umap_map_exactly(digits_small, tmp_path):
    """UMAP (umap-learn, single-threaded, seeded) on 600 real digits: settings -> same coordinates."""
    proj = viz_app.project(digits_small, reducer="umap", n_neighbors=12, min_dist=0.2, random_state=7)
    path = save_settings(
        settings_for(digits_small, proj, dataset_ref={"kind": "sample", "key": "digits"}), tmp_path / "s.json"
    )
    loaded = load_settings(path)
    check_fingerprint(digits_small, loaded)
    params = params_from_settings(loaded)
    assert params == proj.params
    again = project_with(digits_small.vectors, params, fingerprint=digits_small.fingerprint)
    np.testing.assert_array_equal(again.coords, proj.coords)
    other_seed = viz_app.project(digits_small, reducer="umap", n_neighbors=12, min_dist=0.2, random_state=8)
    assert not np.allclose(other_seed.coords, proj.coords)  # the seed matters, so equality means something
