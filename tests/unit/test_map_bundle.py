"""The committed live-map bundle is built from the committed frontend sources, loads nothing from
outside hosts, and is what the server announces."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
ASSETS = ROOT / "viz_app" / "ui" / "map" / "assets"


def _sources() -> list[str]:
    """The files frontend/build.mjs hashes (same list, same order)."""
    files = ["build.mjs", "package.json", "package-lock.json", "tsconfig.json"]
    files += [p.relative_to(FRONTEND).as_posix() for p in (FRONTEND / "src").rglob("*") if p.is_file()]
    return sorted(files)


def _sources_sha256() -> str:
    h = hashlib.sha256()
    for f in _sources():
        h.update(f.encode() + b"\0")
        h.update((FRONTEND / f).read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def test_bundle_is_built_from_the_current_sources():
    meta = json.loads((ASSETS / "lens-map.json").read_text())
    assert meta["files"] == _sources(), "frontend files added or removed since the last build"
    assert meta["sources_sha256"] == _sources_sha256(), (
        "viz_app/ui/map/assets/lens-map.js is older than frontend/: run `cd frontend && npm ci && npm run build` "
        "and commit the bundle"
    )
    bundle = (ASSETS / meta["file"]).read_bytes()
    assert hashlib.sha256(bundle).hexdigest() == meta["bundle_sha256"]
    assert meta["sources_sha256"].encode() in bundle[:2000]  # the banner names its sources


def test_bundle_names_no_outside_host():
    text = (ASSETS / "lens-map.js").read_text(encoding="utf-8")
    assert re.findall(r"https?://[A-Za-z0-9.-]+", text) == []
    assert "unpkg.com" not in text and "jsdelivr" not in text


def test_bundle_size_and_licences():
    meta = json.loads((ASSETS / "lens-map.json").read_text())
    assert 200_000 < meta["bytes"] < 1_500_000
    assert any(p.startswith("@deck.gl/core@") for p in meta["packages"])
    lock = json.loads((FRONTEND / "package-lock.json").read_text())
    deck = lock["packages"]["node_modules/@deck.gl/core"]["version"]
    assert f"@deck.gl/core@{deck} (MIT)" in meta["packages"]


def test_server_announces_the_bundle_by_its_hash():
    from viz_app.ui.map.server import bundle_meta, bundle_url

    meta = json.loads((ASSETS / "lens-map.json").read_text())
    assert bundle_meta() == meta
    assert bundle_url().endswith(f"/_lens/map/js/{meta['bundle_sha256'][:16]}/lens-map.js")
