"""What failctl writes for people and CI logs: text from a program or a file shown, never acted on."""

from __future__ import annotations

import unicodedata

# Characters a terminal or a CI log acts on rather than shows: controls (a newline starting a fake
# `PASSED` line or a `::` workflow command, a carriage return or an ANSI escape overwriting one)
# and format characters (bidirectional overrides); tab is the one control kept.
_ACTED_ON = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def printable(text: str) -> str:
    """Every control or format character written as an escape: one finding stays one line and
    looks like what it is, whatever a resource's name holds."""
    return "".join(
        (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")
        if c != "\t" and unicodedata.category(c) in _ACTED_ON
        else c
        for c in text
    )


def lines(texts: list[str]) -> str:
    """Lines for a log, each made printable, joined."""
    return "\n".join(printable(text) for text in texts)
