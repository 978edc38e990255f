"""The Data page's column-roles table (viz_app.ui.roles_views) with AppTest: shown after a table
upload with each column's role and reason, shown after a refused table so the roles can be fixed,
and the roles it passes on change what loads. (AppTest cannot edit a data_editor cell; the
browser test tests/e2e/test_roles_browser.py does.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 600


def _script(payload: bytes, name: str, choice: dict | None) -> None:
    import io as _io

    import streamlit as st

    from viz_app.ui import data_views, roles_views, views

    if "done" not in st.session_state:
        st.session_state["done"] = True
        data_views.accept_upload(_io.BytesIO(payload), name=name)
        if choice is not None:
            data_views.accept_upload(_io.BytesIO(payload), name=name, choice=choice)
    data_views.show_message()
    roles_views.role_editor(data_views.accept_upload)
    if st.session_state.get("dataset", {}).get("kind") == "upload":
        views.current_dataset()


def _glove_csv() -> bytes:
    from viz_app.data.samples import glove_full

    vectors, tokens = glove_full()
    rows = np.arange(30_000, 31_000)
    df = pd.DataFrame(np.asarray(vectors[rows]), columns=[f"d{i}" for i in range(50)])
    df.insert(0, "word", tokens[rows])
    df["freq_rank"] = rows + 1
    return df.to_csv(index=False).encode()


def _run(payload: bytes, name: str, choice: dict | None = None) -> AppTest:
    return AppTest.from_function(_script, args=(payload, name, choice), default_timeout=TIMEOUT).run()


def test_roles_table_shows_each_column_and_why():
    at = _run(_glove_csv(), "glove_1k.csv")
    assert not at.exception
    assert "1,000 points × 50 dims" in at.success[0].value
    table = at.data_editor[0].value
    assert len(table) == 52 and list(table.columns) == ["column", "kind", "role", "reason"]
    rank = table.set_index("column").loc["freq_rank"]
    assert rank["role"] == "metadata" and "strictly increasing" in rank["reason"]
    assert (table.set_index("column").loc[[f"d{i}" for i in range(50)], "role"] == "vector").all()
    assert any("Column roles of glove" in m.value and "50 vector" in m.value for m in at.markdown)
    assert at.button(key="roles_load").disabled  # nothing changed yet


def test_roles_passed_back_change_what_loads():
    choice = {"vector_columns": [f"d{i}" for i in range(50)] + ["freq_rank"], "metadata_columns": ["word"]}
    at = _run(_glove_csv(), "glove_1k.csv", choice)
    assert not at.exception
    assert "1,000 points × 51 dims" in at.success[0].value
    assert at.data_editor[0].value.set_index("column").loc["freq_rank", "role"] == "vector"


def test_a_refused_table_still_shows_its_roles():
    at = _run(b"label,x\nking,0.5\nqueen,0.7\n", "label_x.csv")
    assert not at.exception
    assert "short labels" in at.error[0].value and "nothing was embedded" in at.error[0].value
    assert at.data_editor[0].value["role"].tolist() == ["label", "metadata"]


def test_the_table_s_bytes_are_the_session_s_own_and_go_with_it():
    from viz_app.ui import cache, roles_views

    payload = _glove_csv()
    at = _run(payload, "glove_1k.csv")
    assert not at.exception
    assert roles_views.ROLE_UPLOAD not in at.session_state  # not in st.session_state any more
    owner = at.session_state[cache.OWNER].id
    kept = cache.session_sets().get((owner, roles_views.ROLE_UPLOAD))
    assert kept["data"] == payload and kept["name"] == "glove_1k.csv" and kept["key"] is not None
    assert cache.session_sets().owner_bytes(owner) > len(payload)  # counted in the session's quota
    cache.session_sets().drop_owner(owner)  # what the closed-session sweep does
    assert cache.session_sets().get((owner, roles_views.ROLE_UPLOAD)) is None
