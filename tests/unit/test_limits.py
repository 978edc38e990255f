"""Budgets of viz_app.data.limits: the config, the environment variables, the checks in the readers
(before allocating) and the point budget of the reducers with its seeded-sample offer."""

from __future__ import annotations

import dataclasses

import pytest

import viz_app
from viz_app.data.limits import ENV, Limits, get_limits
from viz_app.errors import ParameterError

MIB = 1 << 20


@pytest.fixture(autouse=True)
def default_limits(monkeypatch):
    for var in ENV.values():
        monkeypatch.delenv(var, raising=False)


def test_defaults_and_environment_names():
    lim = Limits()
    assert set(ENV) == {f.name for f in dataclasses.fields(Limits)}
    assert all(v.startswith("EMBEDDING_LENS_MAX_") for v in ENV.values())
    assert (lim.max_upload_bytes, lim.max_matrix_bytes, lim.max_inflated_bytes) == (1024 * MIB, 2048 * MIB, 4096 * MIB)
    assert (lim.max_texts, lim.max_npz_members) == (50_000, 64)
    assert get_limits() == lim
    assert lim.max_upload_bytes == viz_app.data.io.MAX_FILE_BYTES


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("EMBEDDING_LENS_MAX_UPLOAD_MB", "0.5")
    monkeypatch.setenv("EMBEDDING_LENS_MAX_TEXTS", " 7 ")
    lim = get_limits()
    assert (lim.max_upload_bytes, lim.max_texts) == (MIB // 2, 7)
    assert lim.max_matrix_bytes == Limits().max_matrix_bytes
    assert Limits.from_env({"EMBEDDING_LENS_MAX_MATRIX_MB": "3"}).max_matrix_bytes == 3 * MIB


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("EMBEDDING_LENS_MAX_UPLOAD_MB", "lots"),
        ("EMBEDDING_LENS_MAX_UPLOAD_MB", "0"),
        ("EMBEDDING_LENS_MAX_MATRIX_MB", "-5"),
        ("EMBEDDING_LENS_MAX_NPZ_MEMBERS", "1.5"),
        ("EMBEDDING_LENS_MAX_TEXTS", "inf"),
    ],
)
def test_bad_environment_value_names_the_variable(var, value):
    with pytest.raises(ParameterError, match=f"{var}={value!r} must be a positive"):
        Limits.from_env({var: value})


def test_bad_field_value():
    with pytest.raises(ParameterError, match="max_texts must be an integer >= 1"):
        Limits(max_texts=0)
