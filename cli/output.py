"""What the `qa` commands print: article text made safe for a terminal, and the period an
answer covers."""

from __future__ import annotations

import re

from api.schemas import TimeWindowOut

# What a terminal may act on rather than show: C0 and C1 control characters (ESC and CSI start
# commands that clear the screen or set the window title), DEL, the bidirectional formatting
# characters that make text read otherwise than it is stored, and lone surrogates (which no
# encoder takes). Article fields are printed with these escaped.
_FORMAT = r"\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE = re.compile(rf"[\x00-\x1f{_FORMAT}]")
_UNSAFE_MULTILINE = re.compile(rf"[\x00-\x08\x0b-\x1f{_FORMAT}]")  # keeps \t and \n
_UNSAFE_IN_JSON = re.compile(rf"[{_FORMAT}]")  # JSON writers escape C0 characters themselves


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str, *, multiline: bool = False) -> str:
    """``text`` with the characters a terminal would act on shown as escapes (``\\x1b``,
    ``\\u202e``); with ``multiline`` (passage text), newlines and tabs are kept."""
    return (_UNSAFE_MULTILINE if multiline else _UNSAFE).sub(_escaped, text)


def printable_json(text: str) -> str:
    """JSON text with the characters a terminal would act on written as ``\\u`` escapes, which
    read back as the same value (they can only stand inside strings)."""
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def window_line(window: TimeWindowOut) -> str:
    """The line that says which period an answer covers."""
    days = window.from_ if window.from_ == window.to else f"{window.from_} to {window.to}"
    words = printable(window.from_question)
    if window.matched is False:
        return f"No articles published {days} ({words}): answered from every date"
    return f"Articles published {days} ({words})"
