"""The live map's camera in the view settings (issue 17 item 5): validated, sent to the page in
its normalised coordinates, and kept in the settings JSON."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import viz_app
from viz_app.errors import DataFormatError, ParameterError
from viz_app.export.settings import load_settings, settings_for, settings_json
from viz_app.map.encode import encode_map
from viz_app.map.view import MapUrls, MapView, check_camera, view_payload

URLS = MapUrls(points="/p", labels=None, knn=None, details=None)


def test_a_camera_goes_to_the_page_normalised():
    pos = np.random.default_rng(0).normal(size=(500, 2)).astype(np.float32) * 40 + 100
    m = encode_map(pos)
    cam = {"target": [110.0, 95.0], "zoom": 1.5}
    payload = view_payload(MapView(zoom_to=cam, zoom_seq=3), m, URLS, height=600)
    sent = payload["zoom"]["to"]["camera"]
    assert payload["zoom"]["seq"] == 3
    # the page's normalised coordinates: data = normalised * scale + center
    back = np.asarray(sent["target"]) * m.scale + np.asarray(m.center)
    assert back == pytest.approx([110.0, 95.0], abs=1e-4)
    # zoom: pixels per normalised unit = pixels per data unit * scale
    assert 2 ** sent["zoom"] == pytest.approx(2**1.5 * m.scale)
    assert set(sent) == {"target", "zoom"}


def test_3d_cameras_keep_their_rotations_and_bad_ones_are_refused():
    cam = check_camera({"target": [0, 1, 2], "zoom": 0, "rotationOrbit": 75, "rotationX": -30}, 3)
    assert cam == {"target": [0.0, 1.0, 2.0], "zoom": 0.0, "rotationOrbit": 75.0, "rotationX": -30.0}
    assert check_camera({"target": [1, 2], "zoom": 2}) == {"target": [1.0, 2.0], "zoom": 2.0}
    for bad, match in [
        ({"target": [1, 2], "zoom": 2}, "the map is 3-D"),
        ({"target": [1, 2, 3], "zoom": math.inf}, "zoom must be a finite number"),
        ({"target": [1, 2, 3], "zoom": 1, "rotationX": 120}, "rotationX"),
        ({"target": [1, 2, 3], "zoom": 1, "pitch": 3}, "unknown camera keys"),
        ([1, 2], "a camera is an object"),
    ]:
        with pytest.raises(ParameterError, match=match):
            check_camera(bad, 3)


def test_the_settings_json_keeps_the_camera(digits_small):
    proj = viz_app.project(digits_small, reducer="pca")
    cam = {"target": [1.25, -3.5], "zoom": 2.75}
    s = settings_for(digits_small, proj, view={"camera": cam, "focus": "3"})
    back = load_settings(settings_json(s).encode())
    assert back["view"]["camera"] == cam
    bad = {**s, "view": {**s["view"], "camera": {"target": [1, 2, 3], "zoom": 1}}}
    with pytest.raises(DataFormatError, match="view.camera.*3 numbers; the map is 2-D"):
        load_settings(json.dumps(bad).encode())
