"""Syntax of vector-arithmetic expressions: tokenizer, recursive-descent parser (never ``eval``)
and the printer. The grammar and the meaning of each token are in :mod:`viz_app.explore.arithmetic`,
which evaluates the parsed :class:`Node` tree over an embedding set.

Syntax errors raise :class:`~viz_app.errors.ExpressionError` with the 0-based position and a
caret under it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from viz_app.errors import ExpressionError

__all__ = ["FUNCTIONS", "MAX_DEPTH", "MAX_EXPRESSION_CHARS", "MAX_OPERANDS", "Node", "parse"]

#: Longest expression accepted, in characters.
MAX_EXPRESSION_CHARS = 500
#: Deepest nesting of parentheses, signs and ``mean(...)`` (the parser and printer recurse).
MAX_DEPTH = 32
#: Most operands (terms, numbers, names) in one expression.
MAX_OPERANDS = 100

FUNCTIONS = ("mean",)
_STOP = set('+-*/(),$"')
_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE]\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Node:
    """One node of a parsed expression.

    ``op`` is ``"num"`` (``value``), ``"term"`` (``text``, ``quoted``), ``"named"`` (``text``),
    ``"neg"``, ``"+"``, ``"-"``, ``"*"``, ``"/"`` or ``"mean"`` (``args``); ``pos`` is the
    0-based character index in the source; ``kind`` is ``"vector"`` or ``"scalar"``.
    """

    op: str
    pos: int
    kind: str
    args: tuple[Node, ...] = ()
    text: str = ""
    value: float = 0.0
    quoted: bool = False

    def __str__(self) -> str:
        return _render(self, {})


def _error(src: str, pos: int, msg: str) -> ExpressionError:
    err = ExpressionError(f"{msg} (position {pos})\n  {src}\n  {' ' * pos}^")
    err.position = pos  # type: ignore[attr-defined]
    return err


def _tokens(src: str) -> list[tuple[str, str, int]]:
    """(kind, text, pos) with kind in num/word/str/named/op/end."""
    out, i, n = [], 0, len(src)
    while i < n:
        ch = src[i]
        if ch.isspace():
            i += 1
        elif ch in "+-*/(),":
            out.append(("op", ch, i))
            i += 1
        elif ch in "\"'" or (ch == "$" and i + 1 < n and src[i + 1] in "\"'"):
            start, named = i, ch == "$"
            i += named
            text, i = _quoted(src, i)
            out.append(("named" if named else "str", text, start))
        elif ch == "$":
            m = _NAME.match(src, i + 1)
            if not m:
                raise _error(src, i, "'$' must be followed by a name (letters, digits, _) or a quoted name")
            out.append(("named", m.group(), i))
            i = m.end()
        else:
            j = i
            while j < n and not src[j].isspace() and src[j] not in _STOP:
                j += 1
            word = src[i:j]
            out.append(("num" if _NUMBER.fullmatch(word) else "word", word, i))
            i = j
    out.append(("end", "", n))
    return out


def _quoted(src: str, i: int) -> tuple[str, int]:
    quote, j, buf = src[i], i + 1, []
    while j < len(src) and src[j] != quote:
        if src[j] == "\\" and j + 1 < len(src):
            j += 1
        buf.append(src[j])
        j += 1
    if j >= len(src):
        raise _error(src, i, f"unclosed quote {quote}")
    if not "".join(buf).strip():
        raise _error(src, i, "empty quoted term")
    return "".join(buf), j + 1


class _Parser:
    def __init__(self, src: str) -> None:
        self.src, self.toks, self.i, self.depth = src, _tokens(src), 0, 0
        operands = [t for t in self.toks if t[0] in ("num", "word", "str", "named")]
        if len(operands) > MAX_OPERANDS:
            raise _error(src, operands[MAX_OPERANDS][2], f"too many operands (at most {MAX_OPERANDS})")

    def nest(self, pos: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _error(self.src, pos, f"nested too deeply (at most {MAX_DEPTH} levels of parentheses and signs)")

    def peek(self) -> tuple[str, str, int]:
        return self.toks[self.i]

    def take(self) -> tuple[str, str, int]:
        self.i += 1
        return self.toks[self.i - 1]

    def expect(self, text: str) -> None:
        kind, tok, pos = self.take()
        if tok != text or kind != "op":
            raise _error(self.src, pos, f"expected {text!r}, found {_show(kind, tok)}")

    def binary(self, ops: str, sub) -> Node:
        left = sub()
        while self.peek()[0] == "op" and self.peek()[1] in ops:
            _, op, pos = self.take()
            right = sub()
            left = self.combine(op, left, right, pos)
        return left

    def combine(self, op: str, a: Node, b: Node, pos: int) -> Node:
        if op in "+-" and a.kind != b.kind:
            raise _error(self.src, pos, f"cannot {'add' if op == '+' else 'subtract'} a number and a vector")
        if op == "*" and a.kind == b.kind == "vector":
            raise _error(self.src, pos, "cannot multiply two vectors (only a number times a vector)")
        if op == "/" and b.kind == "vector":
            raise _error(self.src, pos, "cannot divide by a vector")
        kind = "vector" if "vector" in (a.kind, b.kind) else "scalar"
        return Node(op, pos, kind, (a, b))

    def expr(self) -> Node:
        return self.binary("+-", self.term)

    def term(self) -> Node:
        return self.binary("*/", self.factor)

    def factor(self) -> Node:
        kind, tok, pos = self.peek()
        if kind == "op" and tok in "+-":
            self.take()
            self.nest(pos)
            inner = self.factor()
            self.depth -= 1
            return inner if tok == "+" else Node("neg", pos, inner.kind, (inner,))
        return self.atom()

    def atom(self) -> Node:
        kind, tok, pos = self.take()
        if kind == "num":
            return Node("num", pos, "scalar", value=float(tok), text=tok)
        if kind == "named":
            return Node("named", pos, "vector", text=tok)
        if kind == "str":
            return Node("term", pos, "vector", text=tok, quoted=True)
        if kind == "word" and self.peek()[1] == "(" and self.peek()[0] == "op":
            if tok.lower() not in FUNCTIONS:
                known = ", ".join(FUNCTIONS)
                raise _error(self.src, pos, f"unknown function {tok!r} (functions: {known}; missing operator?)")
            self.take()
            self.nest(pos)
            args = [self.expr()]
            while self.peek()[1] == "," and self.peek()[0] == "op":
                self.take()
                args.append(self.expr())
            self.expect(")")
            self.depth -= 1
            for a in args:
                if a.kind != "vector":
                    raise _error(self.src, a.pos, "mean() takes vectors, not numbers")
            return Node("mean", pos, "vector", tuple(args))
        if kind == "word":
            return Node("term", pos, "vector", text=tok)
        if kind == "op" and tok == "(":
            self.nest(pos)
            inner = self.expr()
            self.expect(")")
            self.depth -= 1
            return inner
        raise _error(self.src, pos, f"expected a term, number, '$name' or '(', found {_show(kind, tok)}")


def _show(kind: str, tok: str) -> str:
    return "the end of the expression" if kind == "end" else repr(tok)


def parse(expr: str) -> Node:
    """Parse an expression into its syntax tree (see the module docstring for the grammar).

    Parameters
    ----------
    expr : str
        E.g. ``"king - man + woman"``, ``"0.5 * (a + b)"``, ``'mean(a, b, c)'``, ``'"new york" - usa'``.

    Returns
    -------
    Node
        ``str(node)`` is the normalised expression, e.g. ``"(king - man) + woman"``.

    Raises
    ------
    ExpressionError
        Syntax error or a number/vector mismatch; the message gives the 0-based character
        position and a caret line under the expression (also in ``err.position``). Also an
        expression longer than :data:`MAX_EXPRESSION_CHARS`, nested deeper than
        :data:`MAX_DEPTH` or with more than :data:`MAX_OPERANDS` operands.
    """
    if not isinstance(expr, str) or not expr.strip():
        raise ExpressionError(f"the expression is empty; write e.g. 'king - man + woman' (got {expr!r})")
    if len(expr) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(f"the expression is {len(expr):,} characters long; at most {MAX_EXPRESSION_CHARS}")
    p = _Parser(expr)
    node = p.expr()
    kind, tok, pos = p.peek()
    if kind != "end":
        hint = " (missing operator?)" if kind in ("word", "str", "num", "named") or tok == "(" else ""
        raise _error(expr, pos, f"unexpected {_show(kind, tok)}{hint}")
    if node.kind != "vector":
        raise _error(expr, 0, "the expression has only numbers; it needs at least one item or text")
    return node


def _quote(text: str, bare_ok: bool) -> str:
    if (
        bare_ok
        and text
        and not _NUMBER.fullmatch(text)
        and text[0] not in "'"
        and not any(c.isspace() or c in _STOP for c in text)
    ):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _render(node: Node, names: Mapping[int, str]) -> str:
    if node.op == "num":
        return f"{node.value:g}"
    if node.op == "term":
        return names.get(node.pos) or _quote(node.text, True)
    if node.op == "named":
        return "$" + (node.text if _NAME.fullmatch(node.text) else _quote(node.text, False))
    if node.op == "mean":
        return "mean(" + ", ".join(_render(a, names) for a in node.args) + ")"
    wrap = [f"({_render(a, names)})" if a.op in ("+", "-", "*", "/") else _render(a, names) for a in node.args]
    return "-" + wrap[0] if node.op == "neg" else f"{wrap[0]} {node.op} {wrap[1]}"
