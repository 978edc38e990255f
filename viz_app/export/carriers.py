"""Carry a short text inside an exported file: a PNG ``tEXt`` chunk, an SVG ``<metadata>``
element, an HTML ``<script type="application/json">`` element; and read it back.

Used by :mod:`viz_app.export.settings` to embed the reproducibility settings in every export.
Standard library only (re, struct, zlib, html); the PNG chunk layout follows the PNG
specification (ISO/IEC 15948, section 11.3.4.3 ``tEXt``).
"""

from __future__ import annotations

import html
import re
import struct
import zlib

from viz_app.errors import DataFormatError

__all__ = ["PNG_SIGNATURE", "extract", "html_with_json", "png_with_text", "svg_with_metadata"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_with_text(png: bytes, keyword: str, text: str) -> bytes:
    """``png`` with a ``tEXt`` chunk ``keyword``/``text`` inserted right after ``IHDR``.

    ``text`` must be ASCII (``tEXt`` holds Latin-1; JSON written with ``ensure_ascii``).

    Raises
    ------
    DataFormatError
        ``png`` is not a PNG (no signature or no ``IHDR`` first).
    """
    if not png.startswith(PNG_SIGNATURE) or png[12:16] != b"IHDR":
        raise DataFormatError("not a PNG image (no signature/IHDR)")
    body = keyword.encode("latin-1") + b"\0" + text.encode("ascii")
    chunk = struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body))
    end_ihdr = 8 + 8 + struct.unpack(">I", png[8:12])[0] + 4
    return png[:end_ihdr] + chunk + png[end_ihdr:]


def svg_with_metadata(svg: bytes, element_id: str, text: str) -> bytes:
    """``svg`` with ``<metadata id=element_id>text</metadata>`` (XML-escaped) after ``<svg ...>``.

    Raises
    ------
    DataFormatError
        No ``<svg>`` element.
    """
    m = re.search(rb"<svg\b[^>]*>", svg)
    if m is None:
        raise DataFormatError("not an SVG document (no <svg> element)")
    meta = f'<metadata id="{element_id}">{html.escape(text, quote=False)}</metadata>'
    return svg[: m.end()] + meta.encode("utf-8") + svg[m.end() :]


def html_with_json(page: str, element_id: str, text: str) -> str:
    """``page`` with ``<script type="application/json" id=element_id>`` before ``</body>``.

    ``<``, ``>`` and ``&`` in ``text`` (JSON) are written as ``\\u003c``-style escapes, so a
    string holding ``</script>`` cannot close the element; ``JSON.parse`` and
    :func:`json.loads` read it as is.
    """
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    tag = f'<script type="application/json" id="{element_id}">{text}</script>\n'
    pos = page.rfind("</body>")
    return page + tag if pos < 0 else page[:pos] + tag + page[pos:]


def _png_text(data: bytes, keyword: str) -> str | None:
    pos = 8
    while pos + 12 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"tEXt" and body.startswith(keyword.encode() + b"\0"):
            return body[len(keyword) + 1 :].decode("latin-1")
        if kind == b"IEND":
            return None
        pos += 12 + length
    return None


def extract(data: bytes, *, png_keyword: str, element_id: str) -> str | None:
    """The text carried by a PNG (``tEXt`` ``png_keyword``), an HTML page (``<script
    id=element_id>``) or an SVG (``<metadata id=element_id>``), or None."""
    if data.startswith(PNG_SIGNATURE):
        return _png_text(data, png_keyword)
    text = data[: 64 << 20].decode("utf-8", "replace")
    m = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', text, re.DOTALL)
    if m:
        return m.group(1)
    m = re.search(rf'<metadata id="{element_id}">(.*?)</metadata>', text, re.DOTALL)
    return html.unescape(m.group(1)) if m else None
