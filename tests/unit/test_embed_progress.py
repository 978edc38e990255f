"""Embedding reports every stage (viz_app.embed.encoders.encode_reporting): model loading with an
estimate, the first batch, then each batch with the time left; the bar never goes back."""

from __future__ import annotations

import numpy as np

from viz_app.embed import encoders


def test_every_stage_is_reported_and_the_bar_only_moves_forward(minilm, monkeypatch):
    reports: list[tuple[float, str]] = []
    texts = [f"sentence number {i} about the weather in town {i % 7}" for i in range(200)]
    monkeypatch.setattr(encoders, "_models", {})  # a fresh process: the model loads first
    out = encoders.encode_reporting(texts, progress=lambda f, m: reports.append((f, m)))
    assert out.shape == (200, 384) and np.allclose(np.linalg.norm(out, axis=1), 1, atol=1e-5)
    messages = [m for _, m in reports]
    assert messages[0].startswith("Loading the text model all-MiniLM-L6-v2 (once per server): starting")
    assert any(m.startswith("Embedding the first 64 texts") for m in messages)
    batches = [m for m in messages if m.startswith("Embedded ")]
    assert batches[0].startswith("Embedded 64 / 200 texts") and batches[-1].startswith("Embedded 200 / 200 texts")
    assert all(" left" in m for m in batches[1:])
    fractions = [f for f, _ in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
