"""Carry a short text inside an exported file: a PNG ``tEXt`` chunk, an SVG ``<metadata>``
element, an HTML ``<script type="application/json">`` element; and read it back.

Used by :mod:`viz_app.export.settings` to embed the reproducibility settings in every export.
Standard library only (struct, zlib, html; no regular expressions); the PNG chunk layout follows the PNG
specification (ISO/IEC 15948, section 11.3.4.3 ``tEXt``).
"""

from __future__ import annotations

import html
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
    start = svg.find(b"<svg")
    while start >= 0 and svg[start + 4 : start + 5] not in (b" ", b">", b"\n", b"\t", b"\r", b"/"):
        start = svg.find(b"<svg", start + 4)
    end = svg.find(b">", start) if start >= 0 else -1
    if end < 0:
        raise DataFormatError("not an SVG document (no <svg> element)")
    meta = f'<metadata id="{element_id}">{html.escape(text, quote=False)}</metadata>'
    return svg[: end + 1] + meta.encode("utf-8") + svg[end + 1 :]


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


#: Largest carried text :func:`extract` returns (settings are a few KiB).
MAX_CARRIED_BYTES = 1 << 20
#: Largest file :func:`extract` looks into.
MAX_CARRIER_FILE_BYTES = 64 << 20


def _between(data: bytes, start: bytes, end: bytes) -> bytes | None:
    """The bytes after the first ``start`` up to the next ``end`` (two ``bytes.find`` calls:
    linear in the input, whatever it holds), or None."""
    i = data.find(start)
    if i < 0:
        return None
    i += len(start)
    j = data.find(end, i, i + MAX_CARRIED_BYTES + len(end))
    if j < 0:
        raise DataFormatError(
            f"the embedded settings element is not closed within {MAX_CARRIED_BYTES >> 20} MiB "
            f"(no {end.decode()} after the first {start.decode()})"
        )
    return data[i:j]


def extract(data: bytes, *, png_keyword: str, element_id: str) -> str | None:
    """The text carried by a PNG (``tEXt`` ``png_keyword``), an HTML page (``<script
    id=element_id>``) or an SVG (``<metadata id=element_id>``), or None.

    Only the first such element counts; reading is linear in the input (``bytes.find`` for one
    opening marker, then for its closing tag: no regular expression scans the file).

    Raises
    ------
    DataFormatError
        The file is larger than 64 MiB, or the element found is not closed within 1 MiB.
    """
    if len(data) > MAX_CARRIER_FILE_BYTES:
        raise DataFormatError(f"the file is larger than {MAX_CARRIER_FILE_BYTES >> 20} MiB; not an export")
    if data.startswith(PNG_SIGNATURE):
        return _png_text(data, png_keyword)
    eid = element_id.encode()
    body = _between(data, b'<script type="application/json" id="' + eid + b'">', b"</script>")
    if body is not None:
        return body.decode("utf-8", "replace")
    body = _between(data, b'<metadata id="' + eid + b'">', b"</metadata>")
    return html.unescape(body.decode("utf-8", "replace")) if body is not None else None
