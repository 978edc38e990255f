"""Label layout: no two labels overlap, none covers a labelled point, leaders only where needed."""

from __future__ import annotations

import numpy as np
import pytest

from viz_app.map.figures import safe_text, scatter_map
from viz_app.map.labels import LABEL_NAME, add_labels, layout_labels, text_box_px
from viz_app.map.overlays import overlay

RANGE = ((-10.0, 10.0), (-10.0, 10.0))
PLOT = (600.0, 600.0)  # 30 px per data unit


def _boxes_px(lay, texts, scale=30.0):
    """Label boxes in pixels (y up, like the data), from the layout's anchors."""
    out = []
    for (x, y), a, t in zip(lay.xy * scale, lay.anchor, texts):
        w, h = text_box_px(t)
        x0 = x - w / 2 if a == "center" else (x if a == "left" else x - w)
        out.append((x0, y - h / 2, x0 + w, y + h / 2))
    return np.array(out)


def _overlap(a, b):
    return a[0] < b[2] - 1e-6 and b[0] < a[2] - 1e-6 and a[1] < b[3] - 1e-6 and b[1] < a[3] - 1e-6


def _check(xy, texts):
    lay = layout_labels(xy, texts, x_range=RANGE[0], y_range=RANGE[1], plot_px=PLOT)
    boxes = _boxes_px(lay, texts)
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not _overlap(boxes[i], boxes[j]), (i, j, texts[i], texts[j])
        for p in np.asarray(xy) * 30.0:  # no label hides a labelled point (a 14 px square)
            assert not _overlap(boxes[i], (p[0] - 7, p[1] - 7, p[0] + 7, p[1] + 7)), (i, p)
    return lay


def test_a_dense_cluster_gets_callout_columns_without_overlaps():
    rng = np.random.default_rng(0)
    xy = rng.normal(0, 0.05, size=(11, 2))  # 11 points within ~3 px of each other
    texts = ["king", "prince", "queen", "ii", "emperor", "son", "uncle", "kingdom", "throne", "brother", "ruler"]
    lay = _check(xy, texts)
    assert lay.leader.sum() >= 6  # most go to the columns
    assert set(lay.anchor[i] for i in np.flatnonzero(lay.leader)) == {"left", "right"}  # both sides used
    # leader lines end on the label's inner edge, beside the group
    assert np.all(np.abs(lay.edge[lay.leader, 0]) > np.abs(xy[:, 0]).max())


def test_separated_points_keep_their_labels_beside_them():
    xy = np.array([[-8.0, -8.0], [0.0, 0.0], [7.0, 5.0], [-5.0, 6.0]])
    texts = ["alpha", "beta", "gamma", "delta"]
    lay = _check(xy, texts)
    assert not lay.leader.any()
    # the first choice is just above the point: centre within a label height of it
    dist_px = np.linalg.norm((lay.xy - xy) * 30.0, axis=1)
    assert np.all(dist_px < 20), dist_px
    assert np.all(lay.xy[:, 1] > xy[:, 1])  # above


@pytest.mark.parametrize("seed", range(8))
def test_random_groups_never_overlap(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 16))
    centre = rng.uniform(-6, 6, size=2)
    xy = centre + rng.normal(0, rng.choice([0.02, 0.3, 2.0]), size=(n, 2))
    texts = ["".join(rng.choice(list("abcdefghij"), size=int(rng.integers(1, 14)))) for _ in range(n)]
    _check(xy, texts)


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="shape"):
        layout_labels(np.zeros((3, 3)), ["a"] * 3, x_range=(0, 1), y_range=(0, 1))
    with pytest.raises(ValueError, match="2 texts for 3 points"):
        layout_labels(np.zeros((3, 2)), ["a"] * 2, x_range=(0, 1), y_range=(0, 1))


XSS = "<img src=x onerror=alert(1)>"


def test_overlay_labels_focus_and_neighbours_as_escaped_annotations():
    rng = np.random.default_rng(1)
    coords = rng.normal(size=(200, 2)).astype(np.float32)
    coords[1:11] = coords[0] + rng.normal(0, 0.01, size=(10, 2))  # a tight group: focus 0, neighbours 1..10
    labels = [XSS] + [f"w{i}" for i in range(1, 200)]
    fig = scatter_map(coords, ids=[str(i) for i in range(200)], labels=labels)
    overlay(fig, coords, ids=[str(i) for i in range(200)], labels=labels, focus=0, neighbors=list(range(1, 11)))
    ann = [a for a in fig.layout.annotations if a.name == LABEL_NAME]
    assert len(ann) == 11
    assert ann[0].text == "<b>&lt;img src=x onerror=alert(1)&gt;</b>"  # bold focus, escaped
    assert sorted(a.text for a in ann[1:]) == sorted(f"w{i}" for i in range(1, 11))
    leaders = [s for s in fig.layout.shapes if s.name == LABEL_NAME]
    assert len(leaders) >= 6  # the group is too tight to label in place
    # no WebGL text on 2-D overlay traces: the annotations are the labels
    assert all(t.mode == "markers" for t in fig.data if t.name in ("focus", "neighbours (10)"))


def test_a_second_call_avoids_labels_already_on_the_figure():
    coords = np.zeros((2, 2), dtype=np.float32)
    coords[1] = [0.001, 0.0]
    fig = scatter_map(
        np.array([[-1, -1], [1, 1], [0, 0], [0.001, 0]], np.float32), ids=list("abcd"), labels=list("abcd")
    )
    add_labels(fig, coords[:1], safe_text(["first label"]))
    add_labels(fig, coords[1:], safe_text(["second label"]))
    a, b = fig.layout.annotations
    scale = min(720 / 2.1, (680 - 36 - 10 - 40) / 2.1)  # px per unit: data span 2 plus 5% padding each side
    boxes = []
    for ann in (a, b):
        w, h = text_box_px(ann.text)
        boxes.append((ann.x * scale - w / 2, ann.y * scale - h / 2, ann.x * scale + w / 2, ann.y * scale + h / 2))
    assert a.xanchor == b.xanchor == "center"
    assert not _overlap(*boxes), boxes


def test_labels_keep_clear_of_other_marked_points():
    """A mark labelled by a later call (e.g. an operand next to the result) is not covered."""
    xy = np.array([[0.0, 0.0]])
    other = np.array([[0.0, 0.4]])  # 12 px above the point: where the label would go first
    free = layout_labels(xy, ["(king - man) + woman"], x_range=RANGE[0], y_range=RANGE[1], plot_px=PLOT)
    assert free.xy[0, 1] > 0  # above, by default
    lay = layout_labels(xy, ["(king - man) + woman"], x_range=RANGE[0], y_range=RANGE[1], plot_px=PLOT, avoid_xy=other)
    box = _boxes_px(lay, ["(king - man) + woman"])[0]
    p = other[0] * 30.0
    assert not _overlap(box, (p[0] - 7, p[1] - 7, p[0] + 7, p[1] + 7)), box


def test_centred_labels_sit_on_free_centres_and_move_aside_when_they_would_overlap():
    """Cluster keyword labels: on the centre when free; close centres do not overlap."""
    centres = np.array([[-6.0, -6.0], [6.0, 6.0], [0.0, 0.0], [0.1, 0.05]])  # the last two 3 px apart
    texts = ["smith, moore, miller", "costs, cost, increase", "first, second, 13", "example, different, instance"]
    lay = layout_labels(centres, texts, x_range=RANGE[0], y_range=RANGE[1], plot_px=PLOT, centered=True)
    assert np.allclose(lay.xy[:3], centres[:3])  # free spots: exactly centred
    assert not np.allclose(lay.xy[3], centres[3])  # moved aside
    boxes = _boxes_px(lay, texts)
    assert not any(_overlap(boxes[i], boxes[j]) for i in range(4) for j in range(i + 1, 4))
