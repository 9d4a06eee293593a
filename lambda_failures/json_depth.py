"""A depth bound for JSON someone else wrote (records, stack exports), checked before parsing.

Python's parser and everything that walks its result recurse once per level: a document
nested a few thousand deep ends in RecursionError wherever it is first walked, far from
where it was read (the failure processor after its alert claim, the audit's walk of a stack
export). Refusing it where it enters, with a named error, keeps every later step safe.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Far deeper than any failure record, stream batch or stack export nests (tens of levels),
# far below Python's recursion limit (1,000 frames) with room for the callers' own frames.
MAX_DEPTH = 200

# A string literal (skipped whole, escapes included; an unterminated one runs to the end of
# the text) or a bracket. Unterminated strings must match too: a pattern that fails on them
# rescans the rest of the text from every escaped quote, quadratic time (`"\"\"\"...` of a
# few hundred kB took hours, longer than any Lambda timeout).
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\Z)|[\[\]{}]', re.DOTALL)


class TooDeepError(ValueError):
    """The document nests deeper than the bound."""


def depth_exceeds(text: str | bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether `text` opens more than `limit` arrays or objects inside one another (brackets
    inside strings do not count). Linear, with no recursion whatever the nesting."""
    if isinstance(text, bytes | bytearray):
        text = text.decode("utf-8", errors="replace")
    if text.count("[") + text.count("{") <= limit:  # cannot nest deeper than it opens
        return False
    depth = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > limit:
                return True
        elif token in "]}":
            depth -= 1
    return False


def loads(text: str | bytes, limit: int = MAX_DEPTH) -> Any:
    """json.loads, refusing a document nested deeper than `limit` (TooDeepError) first."""
    if depth_exceeds(text, limit):
        raise TooDeepError(f"JSON nested deeper than {limit} levels")
    return json.loads(text)
