"""Show text that may contain user content (file names, cells, labels) without rendering it.

Streamlit's ``st.error``/``st.warning``/``st.success``/``st.info``/``st.toast``/``st.markdown``
render Markdown: a cell value like ``**[x](https://…)**`` quoted in an error message would
become a link. :func:`md` backslash-escapes the punctuation Markdown acts on (CommonMark allows
escaping any ASCII punctuation), so the text shows literally; raw HTML is never enabled anywhere.
GitHub-flavoured autolinks (``https://…``, ``www.…``, e-mail addresses) are recognised after
escapes are resolved, so an invisible WORD JOINER (U+2060) is put before ``://``, inside
``www.`` and before ``@``: the text reads the same and links nowhere.
"""

from __future__ import annotations

import re

import streamlit as st

_WJ = "\u2060"
_AUTOLINK = re.compile(r"(?i)(?=://)|(?<=\bww)(?=w\.)|(?=@)")
_PUNCT = re.compile(r"([\\`*_{}\[\]()#+\-!|<>~$:&=])")  # what Markdown (and Streamlit's :directives:) act on


def md(text: object) -> str:
    """``text`` as Markdown that renders literally (Markdown's punctuation backslash-escaped)."""
    return _PUNCT.sub(r"\\\1", _AUTOLINK.sub(_WJ, str(text)))


def error(text: object) -> None:
    """``st.error`` showing ``text`` literally."""
    st.error(md(text))


def warning(text: object) -> None:
    """``st.warning`` showing ``text`` literally."""
    st.warning(md(text))


def success(text: object) -> None:
    """``st.success`` showing ``text`` literally."""
    st.success(md(text))


def info(text: object) -> None:
    """``st.info`` showing ``text`` literally."""
    st.info(md(text))
