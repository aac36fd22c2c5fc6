"""Acronyms a text defines beside their expansion: "China-Pakistan Economic Corridor (CPEC)" or
"CPEC (China-Pakistan Economic Corridor)".

The answer picker quotes an expansion ("What does CPEC stand for?") and lexical search lets a
question that uses one form find passages that use the other, each from the definitions the
corpus itself holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from index.text import tokenize

# An acronym in brackets: two to twelve characters, a capital first and at least two in all.
_BRACKETED = re.compile(r"\(\s*([A-Z][A-Za-z&.-]{1,11})\s*\)")
_BEFORE_BRACKET = re.compile(r"\b([A-Z][A-Za-z&.-]{1,11})\s*\(([^()]+)\)")
_WORD = re.compile(r"[\w'’&/-]+")


@dataclass(frozen=True)
class Definition:
    """An acronym and where its expansion stands in the text, ``[start, end)``."""

    acronym: str
    start: int
    end: int


def letters(acronym: str) -> str:
    """The letters an acronym's initials must spell: "U.S." → US."""
    return re.sub(r"[^A-Za-z]", "", acronym).upper()


def initials(words: Sequence[str]) -> str:
    """ "China-Pakistan Economic Corridor" → CPEC; "Tehreek-e-Taliban Pakistan" → TTP (a
    lower-case part inside a hyphenated name is a particle, not an initial)."""
    found = []
    for word in words:
        parts = [part for part in re.split(r"[-/]", word) if part]
        found += [p[0] for p in parts if len(parts) == 1 or not p.islower()]
    return "".join(found).upper()


def definitions(text: str) -> Iterator[Definition]:
    """Every acronym ``text`` spells out beside it, in either order."""
    for match in _BRACKETED.finditer(text):
        acronym = match.group(1)
        wanted = letters(acronym)
        if sum(c.isupper() for c in acronym) < 2:
            continue
        before = list(_WORD.finditer(text[: match.start()]))
        # Fewest words before the bracket whose initials spell it; small words ("of", "and")
        # may sit between.
        for n in range(1, min(len(before), 2 * len(wanted) + 2) + 1):
            words = before[-n:]
            significant = [w.group() for w in words if not w.group().islower() or len(words) == 1]
            if initials(significant) == wanted and words[0].group()[0].isupper():
                yield Definition(acronym, words[0].start(), words[-1].end())
                break
    for match in _BEFORE_BRACKET.finditer(text):
        acronym = match.group(1)
        if sum(c.isupper() for c in acronym) < 2:
            continue
        capitalised = [w for w in _WORD.findall(match.group(2)) if not w.islower()]
        if initials(capitalised) == letters(acronym):
            yield Definition(acronym, match.start(2), match.end(2))


def defined_tokens(text: str) -> dict[str, tuple[str, ...]]:
    """The acronyms ``text`` spells out as index tokens: acronym token → its expansion's tokens
    ("cpec" → ("china", "pakistan", "econom", "corridor")); a later definition of the same
    acronym wins."""
    found: dict[str, tuple[str, ...]] = {}
    for definition in definitions(text):
        acronym = tokenize(definition.acronym)
        expansion = tuple(tokenize(text[definition.start : definition.end]))
        if len(acronym) == 1 and len(expansion) > 1:
            found[acronym[0]] = expansion
    return found


Expansions = dict[str, list[tuple[frozenset[str], str]]]


def expansions_of(acronyms: dict[str, tuple[str, ...]]) -> Expansions:
    """Expansion's first token → (its tokens, the acronym), to find spelled-out forms."""
    by_first: Expansions = {}
    for acronym, expansion in acronyms.items():
        by_first.setdefault(expansion[0], []).append((frozenset(expansion), acronym))
    return by_first


def expand_acronyms(
    terms: Sequence[str], acronyms: dict[str, tuple[str, ...]], expansions: Expansions
) -> tuple[str, ...]:
    """Query tokens with each acronym's expansion added, and each spelled-out expansion's
    acronym (``acronyms`` and its ``expansions_of``): "cpec" also finds "China-Pakistan
    Economic Corridor", and the words find "CPEC"."""
    have = set(terms)
    added: list[str] = []
    for term in dict.fromkeys(terms):
        for word in acronyms.get(term, ()):
            if word not in have:
                have.add(word)
                added.append(word)
        for words, acronym in expansions.get(term, ()):
            if acronym not in have and words <= have:
                have.add(acronym)
                added.append(acronym)
    return (*terms, *added)
