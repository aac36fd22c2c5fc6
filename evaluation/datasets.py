"""Evaluation datasets read into articles and judged queries.

Four layouts: BEIR (``corpus.jsonl``, ``queries_<split>.jsonl``, ``qrels/<split>[_cited].tsv``),
SQuAD 2.0 JSON (each paragraph becomes an article), the project's gold JSONL on the default
corpus (``{"id", "question", "answers": [spans], "answerable", "type"}``), and the recency set
(``articles.jsonl`` with stories in two versions, ``questions.jsonl`` naming the newer one).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from index.clean import normalise_text, slugify
from index.models import Article
from index.sources import SourceError, read_paths

Kind = Literal["beir", "squad", "gold", "recency", "temporal"]


@dataclass(frozen=True)
class EvalQuery:
    """A question with what counts as a right answer.

    ``relevant`` maps article ids to grades (BEIR, SQuAD); ``answers`` are exact spans of the
    article text (SQuAD, gold); an unanswerable question has neither.
    """

    id: str
    text: str
    answerable: bool
    relevant: Mapping[str, int] = field(default_factory=dict)
    answers: tuple[str, ...] = ()
    # The kind of answer it wants ("person", "date", ... as ``qa.answertype`` names them), when
    # the dataset labels it; figures are reported per kind.
    kind: str | None = None
    # Spans an earlier version of the story gave, now wrong (the recency set).
    stale: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dataset:
    """Articles to ingest and the queries to ask of them."""

    name: str
    kind: Kind
    articles: list[Article]
    queries: list[EvalQuery]


def _read_jsonl(path: Path) -> list[dict[str, object]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_beir(folder: Path, split: str = "test") -> Dataset:
    """A BEIR dataset folder; queries without judgements are left out, as BEIR does."""
    articles = [
        Article(
            id=str(doc["_id"]),
            title=normalise_text(str(doc.get("title") or doc["_id"])).strip(),
            text=normalise_text(str(doc["text"])).strip(),
        )
        for doc in _read_jsonl(folder / "corpus.jsonl")
        if str(doc.get("text") or "").strip()
    ]
    qrels_path = next(
        (
            p
            for p in (folder / "qrels" / f"{split}.tsv", folder / "qrels" / f"{split}_cited.tsv")
            if p.exists()
        ),
        None,
    )
    if qrels_path is None:
        raise FileNotFoundError(f"no qrels/{split}.tsv in {folder}")
    qrels: dict[str, dict[str, int]] = {}
    with open(qrels_path, encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if int(row["score"]) > 0:
                qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
    queries = [
        EvalQuery(
            id=str(q["_id"]), text=str(q["text"]), answerable=True, relevant=qrels[str(q["_id"])]
        )
        for q in _read_jsonl(folder / f"queries_{split}.jsonl")
        if str(q["_id"]) in qrels
    ]
    return Dataset(name=folder.name, kind="beir", articles=articles, queries=queries)


def load_squad(path: Path, name: str | None = None) -> Dataset:
    """SQuAD 2.0 JSON: each paragraph is an article titled after its Wikipedia page. The
    dataset is named ``name``, else after the file's folder."""
    data = json.loads(path.read_text(encoding="utf-8"))
    articles: list[Article] = []
    queries: list[EvalQuery] = []
    for page in data["data"]:
        title = page["title"].replace("_", " ")
        for j, paragraph in enumerate(page["paragraphs"]):
            article_id = f"{slugify(title)}-{j}"
            articles.append(Article(id=article_id, title=title, text=paragraph["context"].strip()))
            for qa in paragraph["qas"]:
                answerable = not qa.get("is_impossible", False)
                queries.append(
                    EvalQuery(
                        id=qa["id"],
                        text=qa["question"].strip(),
                        answerable=answerable,
                        relevant={article_id: 1} if answerable else {},
                        answers=tuple(dict.fromkeys(a["text"] for a in qa["answers"])),
                        kind=qa.get("type"),
                    )
                )
    return Dataset(name=name or path.parent.name, kind="squad", articles=articles, queries=queries)


@dataclass(frozen=True)
class Conversation:
    """Questions asked in turn; the last one's answer spans judge it."""

    id: str
    questions: tuple[str, ...]
    answers: tuple[str, ...]


def load_followups(path: Path) -> list[Conversation]:
    """Conversations in JSONL: ``{"id", "turns": [{"question", "answers"?}, ...]}``."""
    return [
        Conversation(
            id=str(c["id"]),
            questions=tuple(str(t["question"]) for t in c["turns"]),  # type: ignore[attr-defined]
            answers=tuple(c["turns"][-1]["answers"]),  # type: ignore[index]
        )
        for c in _read_jsonl(path)
    ]


def _read_articles(path: Path) -> list[Article]:
    """Articles from a file or folder as ``qa ingest`` reads them; raises ``ValueError`` naming
    the first that cannot be read."""
    articles = []
    for item in read_paths([path]):
        if isinstance(item, SourceError):
            raise ValueError(f"{item.source}: {item.reason}")
        articles.append(item)
    return articles


def load_gold(path: Path, corpus: Path) -> Dataset:
    """The gold JSONL with the articles it is about (a file or folder, as ``qa ingest`` reads)."""
    articles = _read_articles(corpus)
    queries = [
        EvalQuery(
            id=str(q["id"]),
            text=str(q["question"]),
            answerable=bool(q["answerable"]),
            answers=tuple(str(a) for a in q.get("answers", [])),  # type: ignore[attr-defined]
            kind=str(q["type"]) if q.get("type") else None,
        )
        for q in _read_jsonl(path)
        if not q.get("needs_review")  # exported feedback still waiting for its span
    ]
    return Dataset(name=path.stem, kind="gold", articles=articles, queries=queries)


def load_recency(folder: Path) -> Dataset:
    """Stories published twice, an earlier report and an update: each question is judged by
    the update (``relevant``, ``answers``) and carries the earlier version's now wrong spans
    (``stale``)."""
    articles = _read_articles(folder / "articles.jsonl")
    queries = [
        EvalQuery(
            id=str(q["id"]),
            text=str(q["question"]),
            answerable=True,
            relevant={str(q["newer"]): 1},
            answers=tuple(str(a) for a in q["answers"]),  # type: ignore[attr-defined]
            stale=tuple(str(a) for a in q.get("stale", [])),  # type: ignore[attr-defined]
        )
        for q in _read_jsonl(folder / "questions.jsonl")
    ]
    return Dataset(name=folder.name, kind="recency", articles=articles, queries=queries)
