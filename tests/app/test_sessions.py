"""Two sessions in one server process: a session sees only the data it loaded.

Session 2 uploads the same vectors as session 1 with other labels and a ``secret_col``; session
1's dataset, labels, colour options and map caption stay its own (issue: the server-wide store
was keyed by the vectors alone, so session 2's upload replaced session 1's data).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 600


@pytest.fixture(autouse=True)
def _cwd(monkeypatch):
    monkeypatch.chdir(ROOT)


def _csv(labels: list[str], extra: dict[str, list[str]] | None = None) -> bytes:
    v = np.random.default_rng(0).normal(size=(len(labels), 6)).round(5)
    extra = extra or {}
    head = ["label", *extra, *(f"d{j}" for j in range(v.shape[1]))]
    rows = [",".join(head)]
    for i, lab in enumerate(labels):
        rows.append(",".join([lab, *(extra[c][i] for c in extra), *map(str, v[i])]))
    return "\n".join(rows).encode()


def _upload_and_show(payload: bytes, name: str) -> None:
    import io as _io

    import streamlit as st

    from viz_app.ui import data_views, views

    if "done" not in st.session_state:
        st.session_state["done"] = True
        data_views.accept_upload(_io.BytesIO(payload), name=name)
    loaded = views.current_dataset()
    if loaded is not None:
        es = loaded[0]
        st.text("name=" + es.name)
        st.text("labels=" + "|".join(es.labels))
        st.text("columns=" + "|".join(map(str, es.metadata.columns)))


def _shown(at: AppTest) -> dict[str, str]:
    return dict(t.value.split("=", 1) for t in at.text if "=" in t.value)


def test_equal_vectors_with_other_labels_never_mix_between_sessions():
    n = 30
    mine = _csv([f"mine{i}" for i in range(n)])
    theirs = _csv([f"theirs{i}" for i in range(n)], {"secret_col": [f"secret{i}" for i in range(n)]})

    s1 = AppTest.from_function(_upload_and_show, args=(mine, "mine.csv"), default_timeout=TIMEOUT).run()
    assert not s1.exception
    assert _shown(s1)["labels"].startswith("mine0|mine1")
    s2 = AppTest.from_function(_upload_and_show, args=(theirs, "theirs.csv"), default_timeout=TIMEOUT).run()
    assert not s2.exception
    assert _shown(s2)["columns"] == "label|secret_col"
    assert s1.session_state["dataset"]["key"] != s2.session_state["dataset"]["key"]

    s1.run()  # session 1 reruns after session 2's upload: still its own data
    shown = _shown(s1)
    assert shown["name"] == "mine.csv"
    assert shown["labels"].split("|") == [f"mine{i}" for i in range(n)]
    assert "secret" not in shown["columns"] and "theirs" not in shown["labels"]

    # the Explore page of session 1 (same session state: its owner token and dataset)
    from viz_app.ui import cache

    page = AppTest.from_file(str(ROOT / "pages" / "explore.py"), default_timeout=TIMEOUT)
    for k in (cache.OWNER, "dataset"):
        page.session_state[k] = s1.session_state[k]
    page.session_state["reducer"] = "pca"
    page.run()
    assert not page.exception, page.exception
    opts = page.sidebar.selectbox(key="_w_color_by").options
    assert "secret_col" not in opts
    text = " ".join(m.value for m in page.markdown)
    assert "mine" in text and "theirs" not in text and "secret" not in text


def test_another_session_cannot_read_a_set_by_its_key():
    from viz_app.data.samples import digits
    from viz_app.ui import cache

    es = digits().subset(np.arange(50), name="private")
    key = cache.put_session_set(es, owner="owner-a")
    assert cache.session_set(key, owner="owner-a") is es
    assert cache.session_set(key, owner="owner-b") is None  # knowing the key is not enough
    assert cache.session_sets().drop_owner("owner-a") == 1
    assert cache.session_set(key, owner="owner-a") is None


def test_a_closed_session_s_data_is_freed_after_the_grace_time(monkeypatch):
    from types import SimpleNamespace

    from viz_app.data.samples import digits
    from viz_app.ui import cache

    active = {"s-open": True, "s-closed": False}
    freed: list[str] = []  # sessions whose uploaded files were removed from Streamlit's manager
    rt = SimpleNamespace(
        is_active_session=lambda sid: active[sid],
        uploaded_file_mgr=SimpleNamespace(remove_session_files=freed.append),
        media_file_mgr=SimpleNamespace(clear_session_refs=lambda sid: None, remove_orphaned_files=lambda: None),
        dataframe_source_mgr=SimpleNamespace(clear_all_for_session=lambda sid: None),
    )
    fake = SimpleNamespace(exists=lambda: True, get_instance=lambda: rt)
    monkeypatch.setattr(cache, "runtime", fake)
    monkeypatch.setattr(cache, "_owners", {"open": ["s-open", None], "closed": ["s-closed", None]})
    # the process's sweeper thread (started by an earlier test's session) calls the module's
    # sweep_closed_sessions every 15 s with the real clock: it must not sweep these fake owners
    sweep = cache.sweep_closed_sessions
    monkeypatch.setattr(cache, "sweep_closed_sessions", lambda *a, **k: 0)
    es = digits().subset(np.arange(30))
    k_open = cache.put_session_set(es, owner="open")
    k_closed = cache.put_session_set(es.subset(np.arange(10)), owner="closed")
    assert sweep(grace_s=60, now=1000.0) == 0  # first seen closed
    assert cache.session_set(k_closed, owner="closed") is not None and freed == []
    assert sweep(grace_s=60, now=1061.0) == 1
    assert freed == ["s-closed"]  # Streamlit's copy of its uploads goes too
    assert cache.session_set(k_closed, owner="closed") is None
    assert cache.session_set(k_open, owner="open") is not None and "closed" not in cache._owners
    cache.session_sets().drop_owner("open")


def test_a_closed_session_is_kept_as_long_as_streamlit_keeps_it_for_a_reconnect():
    from streamlit import config

    from viz_app.ui import cache

    assert cache.closed_session_grace_s() == float(config.get_option("server.disconnectedSessionTTL")) == 120.0
    config.set_option("server.disconnectedSessionTTL", 7)
    try:
        assert cache.closed_session_grace_s() == 7.0
    finally:
        config.set_option("server.disconnectedSessionTTL", 120)


def test_a_session_state_freed_inside_a_sweep_does_not_deadlock_it(monkeypatch):
    """A weakref callback runs wherever the last reference goes or the collector runs: here
    inside the sweep's own ``with _owners_lock`` (the runtime's ``is_active_session`` drops the
    last reference to a session's owner). The callback used to take that lock again, and the
    sweep, the sweeper thread and every later session waited for ever (seen in an AppTest run)."""
    import threading
    from types import SimpleNamespace

    from viz_app.data.samples import digits
    from viz_app.ui import cache

    holder = [cache._Owner()]
    owner_id = holder[0].id
    key = cache.put_session_set(digits().subset(np.arange(10)), owner=owner_id)

    def active(session_id: str) -> bool:
        holder.clear()  # the owner's finalizer runs here, inside the sweep's lock
        return True

    rt = SimpleNamespace(is_active_session=active)
    monkeypatch.setattr(cache, "runtime", SimpleNamespace(exists=lambda: True, get_instance=lambda: rt))
    monkeypatch.setattr(cache, "_owners", {"other": ["s-other", None]})
    sweep = threading.Thread(target=cache.sweep_closed_sessions, kwargs={"grace_s": 60}, daemon=True)
    sweep.start()
    sweep.join(30)
    assert not sweep.is_alive(), "the sweep deadlocked on its own lock"
    assert not holder
    cache.sweep_closed_sessions(grace_s=60)
    assert cache.session_set(key, owner=owner_id) is None  # queued by the finalizer, freed by the next sweep
