"""The stores' portable SQL (see `backend.py`) as PostgreSQL's: `?` and `:name` become `$1`,
`$2`, ... (a name used twice is one parameter), `IS ?` becomes `IS NOT DISTINCT FROM $n` (and
`IS NOT ?`, `IS DISTINCT FROM $n`), and parameters are put in the order asyncpg sends them.

Quoted text ('...', "...") and `::` casts are left alone. A statement is translated once and
remembered: the stores' statements are a small, fixed set of texts.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# What a statement is cut into: quoted text (left alone), `::` casts, a parameter with the
# comparison `IS [NOT]` before it, or a bare parameter.
_TOKEN = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|::"""
    r"""|(?P<is>(?<![\w])(?i:IS)(?P<not>\s+(?i:NOT))?\s+)?(?P<param>\?|:(?P<name>[A-Za-z_]\w*))"""
)
# Longer statements (batches of many rows) are translated each time instead of remembered.
CACHED_CHARACTERS = 4096


@dataclass(frozen=True)
class Translated:
    """A statement in PostgreSQL's form, and how to order its parameters."""

    sql: str
    names: tuple[str, ...] | None  # `:name` parameters, by number; None for `?` ones
    count: int  # how many parameters it takes

    def arguments(self, params: Sequence[Any] | Mapping[str, Any]) -> list[Any]:
        """The parameters in asyncpg's order, with a bool as 0/1 (flags are INTEGER columns)."""
        if self.names is not None:
            if not isinstance(params, Mapping):
                raise TypeError("this statement takes named parameters (:name), given a sequence")
            values = [params[name] for name in self.names]
        else:
            if isinstance(params, Mapping):
                raise TypeError("this statement takes positional parameters (?), given a mapping")
            values = list(params)
            if len(values) != self.count:
                raise ValueError(f"{self.count} parameters expected, {len(values)} given")
        return [int(v) if isinstance(v, bool) else v for v in values]


def translate(sql: str) -> Translated:
    """`sql` in PostgreSQL's form (see the module's docstring)."""
    if len(sql) <= CACHED_CHARACTERS:
        return _remembered(sql)
    return _translate(sql)


@functools.lru_cache(maxsize=1024)
def _remembered(sql: str) -> Translated:
    return _translate(sql)


def _translate(sql: str) -> Translated:
    out: list[str] = []
    names: dict[str, int] = {}
    positional = 0
    done = 0
    for token in _TOKEN.finditer(sql):
        if token["param"] is None:  # quoted text or a cast: as it is
            continue
        out.append(sql[done : token.start()])
        done = token.end()
        if token["is"] is not None:
            out.append("IS DISTINCT FROM " if token["not"] else "IS NOT DISTINCT FROM ")
        if token["name"] is not None:
            number = names.setdefault(token["name"], len(names) + 1)
        else:
            positional += 1
            number = positional
        out.append(f"${number}")
    out.append(sql[done:])
    if names and positional:
        raise ValueError(f"both ? and :name parameters in {sql[:200]!r}")
    if names:
        return Translated("".join(out), tuple(names), len(names))
    return Translated("".join(out), None, positional)
