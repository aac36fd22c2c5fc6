"""One citation per story: copies of a syndicated story (``index/stories.py`` groups them at
ingest) are collapsed in retrieval results into the earliest-published copy retrieved, which
lists the other stored copies as ``also_in``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from index.models import published_day
from index.view import CorpusView
from qa.models import Copy, Hit


class StoryLookup(Protocol):
    """Where the story of each article is kept (``index.stories.StoryIndex``)."""

    def stories(self, article_ids: Sequence[str]) -> dict[str, str]: ...

    def copies(self, article_ids: Sequence[str]) -> dict[str, list[str]]: ...


@dataclass(frozen=True)
class Collapsed:
    """Hits with one per story, and for each kept article the other copies stored."""

    hits: list[Hit]
    also_in: Mapping[str, tuple[Copy, ...]]


def _order(hit: Hit) -> tuple[float, float]:
    day = published_day(hit.article.published)
    return (day if day == day else float("inf"), -hit.score)  # undated last


def collapse_copies(snapshot: CorpusView, hits: Sequence[Hit], stories: StoryLookup) -> Collapsed:
    """Keep one hit per story, at the rank of the story's best hit: the earliest-published copy
    among those retrieved (so the copies a filter lets through), with its own passage; every
    other copy still stored goes to ``also_in``. Articles in no story stand alone."""
    ids = list(dict.fromkeys(h.article.id for h in hits))
    story = stories.stories(ids)
    groups: dict[str, list[Hit]] = {}
    order: list[str] = []
    for hit in hits:
        key = story.get(hit.article.id, f"article:{hit.article.id}")
        if key not in groups:
            order.append(key)
            groups[key] = []
        groups[key].append(hit)
    kept: list[Hit] = []
    for key in order:
        group = groups[key]
        chosen = min(group, key=_order)
        # The chosen copy's other passages follow it (max_per_article allowed them).
        kept.append(chosen)
        kept.extend(h for h in group[1:] if h.article.id == chosen.article.id and h is not chosen)
    copies = stories.copies(list(dict.fromkeys(h.article.id for h in kept)))
    also_in: dict[str, tuple[Copy, ...]] = {}
    for article_id, others in copies.items():
        found = []
        for other in others:
            stored = snapshot.article(other)
            if stored is None:  # deleted since: never listed
                continue
            article = stored[0]
            found.append(Copy(article.id, article.outlet, article.url, article.published))
        found.sort(key=lambda c: (c.published or "9999", c.article_id))
        if found:
            also_in[article_id] = tuple(found)
    return Collapsed(kept, also_in)
