"""Shared fixtures: real data (GloVe, digits, MiniLM) loaded once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last: Playwright's sync API leaves its event loop installed in this
    process until the session ends, so a later test calling ``asyncio.run`` (the live map's
    Starlette routes) would fail, and a check that no browser module is loaded would see
    playwright. Quick tests first also report core failures sooner."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)


SAMPLE_DATA = ROOT / "sample_data"


@pytest.fixture(scope="session")
def digits_set():
    """scikit-learn digits, (1797, 64) float32, label = digit."""
    from viz_app.data.samples import digits

    return digits()


@pytest.fixture(scope="session")
def digits_small(digits_set):
    """The first 600 digits: enough structure for quality bounds, fast to project."""
    return digits_set.subset(np.arange(600))


@pytest.fixture(scope="session")
def glove_10k():
    """The default sample: the 10,000 most frequent GloVe 6B 50-d tokens."""
    from viz_app.data.samples import glove

    return glove(10_000)


@pytest.fixture(scope="session")
def glove_minilm():
    """The same 10,000 GloVe tokens embedded with all-MiniLM-L6-v2 (from the on-disk vector cache
    after the first run or the install warm-up; minutes on 2 cores the very first time)."""
    from viz_app.data.samples import glove_minilm

    return glove_minilm()


@pytest.fixture(scope="session")
def minilm():
    """The offline all-MiniLM-L6-v2 encoder (loaded once)."""
    from viz_app.embed.encoders import get_encoder

    return get_encoder()


@pytest.fixture(scope="session")
def movielens_rec():
    """The MovieLens recommender at its defaults, trained once per session with the disk cache off
    (so the tests measure a real fit; about 10-20 s on 2 cores)."""
    from viz_app.data.ratings import load_movielens
    from viz_app.explore.recommend import train_recommender

    return train_recommender(load_movielens(), cache=False)
