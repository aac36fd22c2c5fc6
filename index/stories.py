"""Syndicated copies are one story: near-duplicate articles (the same wire story from another
outlet, trimmed or re-headlined) share a story id.

Each article's body is cut into word shingles (``SHINGLE`` words) and summarised by a MinHash
signature (``datasketch``); an LSH index over the signatures finds the candidates at ingest,
and a candidate is a copy when the share of the shorter article's shingles that the longer one
holds (containment, estimated from the signatures' Jaccard similarity and the set sizes) is at
least ``threshold``. Containment, not Jaccard, because a trimmed copy holds a fraction of the
original's shingles and all of its own. The title plays no part: copies are re-headlined.

``StoryIndex`` owns the ``article_stories`` table (migration 0003); a story's id is the id of
its first article. The grouping lives in the database, apart from segments and vector stores,
so it survives rebuilds and deletes on both backends; readers drop members that are no longer
stored.
"""

from __future__ import annotations

import re
import struct
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine, text

from index.engine import write_connection
from index.models import Article

SHINGLE = 5
NUM_PERM = 128
# 64-bit affine permutations: a bijection, so no collisions inflate the estimates.
SCHEME = "affine64"
# Candidates come from LSH at a low Jaccard; containment decides.
CANDIDATE_JACCARD = 0.15
# How stale the story map may be on the read path: another process's grouping is seen within.
READ_AGE = 1.0
_WORD = re.compile(r"\w+", re.UNICODE)


def shingles(text: str, size: int = SHINGLE) -> set[bytes]:
    """The article's word ``size``-grams (lower-cased), or its words when it has fewer."""
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < size:
        return {w.encode() for w in words}
    return {" ".join(words[i : i + size]).encode() for i in range(len(words) - size + 1)}


@dataclass(frozen=True)
class Signature:
    """An article's MinHash signature and the size of its shingle set."""

    hashvalues: np.ndarray
    size: int

    def to_bytes(self) -> bytes:
        """Serialised: the size, then the hash values."""
        return struct.pack("<q", self.size) + self.hashvalues.astype("<u8").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Signature:
        """The inverse of ``to_bytes``."""
        (size,) = struct.unpack("<q", data[:8])
        return cls(np.frombuffer(data[8:], dtype="<u8").astype(np.uint64), size)

    def jaccard(self, other: Signature) -> float:
        """Estimated Jaccard similarity of the two shingle sets."""
        return float(np.mean(self.hashvalues == other.hashvalues))

    def containment(self, other: Signature) -> float:
        """Estimated share of the smaller set's shingles found in the larger one."""
        j = self.jaccard(other)
        if j <= 0 or min(self.size, other.size) == 0:
            return 0.0
        common = j * (self.size + other.size) / (1 + j)
        return min(1.0, common / min(self.size, other.size))


def signature(article: Article) -> Signature:
    """The MinHash signature of the article's body."""
    from datasketch import MinHash

    items = shingles(article.text)
    minhash = MinHash(num_perm=NUM_PERM, seed=1, scheme=SCHEME)
    minhash.update_batch(list(items))
    return Signature(minhash.hashvalues.copy(), len(items))


class StoryIndex:
    """The story of every article, kept in the database and mirrored in memory for lookups.

    ``threshold`` is the containment at which two articles are one story.
    """

    def __init__(self, engine: Engine, threshold: float = 0.7) -> None:
        if not 0 < threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], not {threshold!r}")
        self.engine = engine
        self.threshold = threshold
        self._lock = threading.Lock()
        self._signatures: dict[str, Signature] = {}
        self._story: dict[str, str] = {}
        self._lsh: object | None = None
        self._loaded_rows = -1
        self._checked_at = 0.0

    def _new_lsh(self) -> object:
        from datasketch import MinHashLSH

        return MinHashLSH(threshold=CANDIDATE_JACCARD, num_perm=NUM_PERM)

    def _minhash(self, sig: Signature) -> object:
        from datasketch import MinHash

        return MinHash(num_perm=NUM_PERM, seed=1, hashvalues=sig.hashvalues, scheme=SCHEME)

    def refresh(self, max_age: float = 0.0) -> None:
        """Read the table again when another process changed it (its row count moved); with
        ``max_age``, look at most that often (the read path's lookups)."""
        if max_age and time.monotonic() - self._checked_at < max_age:
            return
        self._checked_at = time.monotonic()
        with self.engine.connect() as conn:
            count = conn.execute(text("SELECT count(*) FROM article_stories")).scalar_one()
            if count == self._loaded_rows:
                return
            rows = conn.execute(
                text("SELECT article_id, story_id, signature FROM article_stories")
            ).all()
        lsh = self._new_lsh()
        signatures, story = {}, {}
        for article_id, story_id, data in rows:
            sig = Signature.from_bytes(bytes(data))
            signatures[article_id], story[article_id] = sig, story_id
            lsh.insert(article_id, self._minhash(sig))  # type: ignore[attr-defined]
        self._lsh, self._signatures, self._story = lsh, signatures, story
        self._loaded_rows = len(rows)

    def match(self, sig: Signature, exclude: str | None = None) -> tuple[str, float] | None:
        """The stored article ``sig`` is a copy of (the most similar), with the containment."""
        assert self._lsh is not None
        best: tuple[str, float] | None = None
        for candidate in self._lsh.query(self._minhash(sig)):  # type: ignore[attr-defined]
            if candidate == exclude:
                continue
            score = sig.containment(self._signatures[candidate])
            if score >= self.threshold and (best is None or score > best[1]):
                best = (candidate, score)
        return best

    def assign(self, articles: Sequence[Article]) -> dict[str, str]:
        """Give each article its story (a stored copy's, else its own id); returns article id
        -> story id. An article updated in place is compared with the others, not itself."""
        signatures = [(a.id, signature(a)) for a in articles]
        assigned: dict[str, str] = {}
        if not signatures:
            return assigned
        with self._lock:
            self.refresh()
            assert self._lsh is not None
            rows = []
            new = 0
            for article_id, sig in signatures:
                new += article_id not in self._signatures
                previous = self._story.get(article_id)
                if article_id in self._signatures:
                    self._lsh.remove(article_id)  # type: ignore[attr-defined]
                found = self.match(sig, exclude=article_id)
                if found is not None:
                    story_id = self._story[found[0]]
                elif previous is not None and any(
                    s == previous for a, s in self._story.items() if a != article_id
                ):
                    story_id = article_id  # no longer a copy of the story it was in
                else:
                    story_id = previous or article_id
                self._signatures[article_id], self._story[article_id] = sig, story_id
                self._lsh.insert(article_id, self._minhash(sig))  # type: ignore[attr-defined]
                assigned[article_id] = story_id
                rows.append({"a": article_id, "s": story_id, "sig": sig.to_bytes()})
            with write_connection(self.engine) as conn, conn.begin():
                conn.execute(text("DELETE FROM article_stories WHERE article_id = :a"), rows)
                conn.execute(
                    text(
                        "INSERT INTO article_stories (article_id, story_id, signature)"
                        " VALUES (:a, :s, :sig)"
                    ),
                    rows,
                )
                count = conn.execute(text("SELECT count(*) FROM article_stories")).scalar_one()
            # Ours only: the memory is current. Otherwise another process wrote: read again.
            if count == self._loaded_rows + new:
                self._loaded_rows = count
            else:
                self._loaded_rows = -1
                self.refresh()
        return assigned

    def stories(self, article_ids: Iterable[str]) -> dict[str, str]:
        """The story id of each of the articles that has one."""
        with self._lock:
            self.refresh(READ_AGE)
            return {a: self._story[a] for a in article_ids if a in self._story}

    def members(self, story_id: str) -> list[str]:
        """The ids of the articles in a story (deleted ones included: filter by the corpus)."""
        with self._lock:
            self.refresh(READ_AGE)
            return sorted(a for a, s in self._story.items() if s == story_id)

    def copies(self, article_ids: Iterable[str]) -> dict[str, list[str]]:
        """For each article, the other articles of its story."""
        with self._lock:
            self.refresh(READ_AGE)
            by_story: dict[str, list[str]] = {}
            for a, s in self._story.items():
                by_story.setdefault(s, []).append(a)
            return {
                a: sorted(m for m in by_story.get(self._story[a], []) if m != a)
                for a in article_ids
                if a in self._story
            }

    def counts(self) -> tuple[int, int, int]:
        """Articles grouped, stories, and stories told by more than one article (deleted
        articles included until they are regrouped)."""
        with self._lock:
            self.refresh(READ_AGE)
            sizes: dict[str, int] = {}
            for story in self._story.values():
                sizes[story] = sizes.get(story, 0) + 1
        return len(self._story), len(sizes), sum(1 for n in sizes.values() if n > 1)
