"""``qa eval`` and ``qa calibrate``: ingest each evaluation dataset into its own data directory,
then measure it through the same answerer the API answers with.

An ``Opener`` (``answerer_opener``), given a dataset's name, opens the answerer the service
would build (retriever, picker and refusal model as configured) on that dataset's own data
directory.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.datasets import (
    Dataset,
    EvalQuery,
    load_beir,
    load_followups,
    load_gold,
    load_recency,
    load_squad,
)
from evaluation.metrics import (
    AnswerScores,
    DiversityScores,
    Evaluator,
    FollowupScores,
    RefusalScores,
    RetrievalScores,
    followup_recall,
    query_kind,
    refusal,
)
from evaluation.temporal import TemporalScores, load_temporal, score_temporal, temporal_line
from index.embed import Embedder
from index.sources import default_corpus_dir
from qa.answer import Answerer
from qa.refusal import ANSWER_FEATURES, FEATURES, RefusalModel, fit_refusal
from qa.retrieve import Method
from service.services import build_services
from service.settings import Settings

# The evaluation sets, each with its source and licence (data/*/README.md or SOURCE.md).
EVAL_DIR = Path(__file__).resolve().parent / "data"
# A dataset's name -> the answerer on that dataset's own data directory, closed on exit.
Opener = Callable[[str], AbstractContextManager[Answerer]]


def answerer_opener(settings: Settings, embedder: Embedder) -> Opener:
    """Opens the configured answerer on ``settings.data_dir/<dataset>/<index settings>``, with
    no bundled article: one data directory per dataset and index configuration, so runs that
    compare configurations each keep their ingested copy."""
    config = f"c{settings.max_chars}-m{settings.min_chars}-t{int(settings.title_context)}"

    @contextmanager
    def open_answerer(name: str) -> Iterator[Answerer]:
        # Each dataset's corpus in SQLite files of its own, even when the service shares a
        # database: datasets and configurations must not meet in one.
        update = {
            "data_dir": settings.data_dir / name / config,
            "ingest_default_corpus": False,
            "database_url": None,
            # and, on Milvus, in a collection of its own
            "milvus_collection": re.sub(r"\W", "_", f"eval_{name}_{config}"),
        }
        services = build_services(settings.model_copy(update=update), embedder=embedder)
        try:
            yield services.answerer
        finally:
            services.close()

    return open_answerer


DATASETS = {
    "gold": lambda: load_gold(EVAL_DIR / "gold" / "diplomat.jsonl", default_corpus_dir()),
    "squad": lambda: load_squad(EVAL_DIR / "squad2-dev" / "dev-v2.0.json"),
    "squad-typed": lambda: load_squad(EVAL_DIR / "gold" / "squad_typed.json", "squad_typed"),
    "scifact": lambda: load_beir(EVAL_DIR / "scifact", "test"),
    "recency": lambda: load_recency(EVAL_DIR / "recency"),
    "temporal": lambda: load_temporal(EVAL_DIR / "temporal").dataset,
}


def load_dataset(name_or_path: str) -> Dataset:
    """A dataset by name (gold, squad, scifact) or path (BEIR folder or SQuAD .json)."""
    if name_or_path in DATASETS:
        return DATASETS[name_or_path]()
    path = Path(name_or_path)
    if path.suffix == ".jsonl" and path.is_file():
        return load_gold(path, default_corpus_dir())
    if path.is_dir() and (path / "corpus.jsonl").exists():
        return load_beir(path)
    if path.suffix == ".json" and path.is_file():
        return load_squad(path)
    raise ValueError(
        f"unknown dataset {name_or_path!r}: use gold, squad, scifact, a BEIR folder or a SQuAD"
        " .json file"
    )


@dataclass
class DatasetResult:
    """Everything measured on one dataset."""

    name: str
    kind: str
    articles: int
    passages: int
    retrieval: list[RetrievalScores] = field(default_factory=list)
    diversity: list[DiversityScores] = field(default_factory=list)
    answers: AnswerScores | None = None
    refusal: RefusalScores | None = None
    followups: FollowupScores | None = None
    temporal: TemporalScores | None = None
    seconds: float = 0.0


def ingest(answerer: Answerer, dataset: Dataset, progress: bool) -> None:
    """Store the dataset's articles in the answerer's corpus (unchanged ones cost nothing)."""
    answerer.corpus.add_articles(
        dataset.articles, answerer.retriever.embedder, progress=progress, batch_articles=256
    )


def run_evaluation(
    names: Sequence[str],
    methods: Sequence[Method],
    opener: Opener,
    *,
    followup_specificity: float,
    limit: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Measure each dataset; with squad and scifact both given, also the cross-domain refusal
    (SQuAD's answerable questions against SciFact's claims, both asked of the SQuAD corpus)."""
    results: list[DatasetResult] = []
    loaded = {name: load_dataset(name) for name in names}
    cross: RefusalScores | None = None
    for name, dataset in loaded.items():
        started = time.perf_counter()
        if limit is not None:
            dataset = Dataset(dataset.name, dataset.kind, dataset.articles, dataset.queries[:limit])
        with opener(dataset.name) as answerer:
            ingest(answerer, dataset, progress)
            snapshot = answerer.corpus.snapshot
            evaluator = Evaluator(answerer, dataset)
            result = DatasetResult(
                name=name,
                kind=dataset.kind,
                articles=snapshot.article_count,
                passages=snapshot.passage_count,
                retrieval=[evaluator.retrieval(m) for m in methods],
            )
            if dataset.kind == "beir":
                result.diversity = [evaluator.diversity(cap) for cap in (None, 2, 1)]
            if dataset.kind in ("gold", "squad", "recency"):
                result.answers = evaluator.answers()
            if dataset.kind == "temporal":
                # Each question is asked on its own as_of day, and each timeline built.
                result.temporal = score_temporal(answerer, load_temporal(EVAL_DIR / "temporal"))
            followups_path = EVAL_DIR / "gold" / f"{dataset.name}_followups.jsonl"
            if dataset.kind == "gold" and followups_path.exists():
                result.followups = followup_recall(
                    answerer,
                    load_followups(followups_path),
                    "\n".join(a.text for a in dataset.articles),
                    followup_specificity,
                )
            unanswerable = [q for q in dataset.queries if not q.answerable]
            if dataset.kind in ("gold", "squad") and unanswerable:
                result.refusal = refusal(
                    answerer,
                    [q.text for q in dataset.queries if q.answerable],
                    [q.text for q in unanswerable],
                    [query_kind(q) for q in unanswerable],
                )
            if dataset.kind == "squad" and "scifact" in loaded:
                claims = [q.text for q in loaded["scifact"].queries][:limit]
                answerable = [q.text for q in dataset.queries if q.answerable]
                cross = refusal(answerer, answerable, claims)
            result.seconds = time.perf_counter() - started
            results.append(result)
    return {"datasets": results, "cross_domain_refusal": cross}


_NUMBERED = re.compile(r"[a-z]+(\d+)")


def _half(queries: Sequence[EvalQuery], held_out: bool) -> list[str]:
    """Every other question: by the number of a numbered id (d001 calibrates, d002 is held
    out), else by position (the first calibrates)."""
    out = []
    for i, query in enumerate(queries):
        numbered = _NUMBERED.fullmatch(query.id)
        n = int(numbered.group(1)) - 1 if numbered else i
        if (n % 2 == 1) == held_out:
            out.append(query.text)
    return out


def calibrate(
    opener: Opener,
    max_false_refusals: float = 0.03,
    progress: bool = True,
) -> tuple[RefusalModel, dict[str, RefusalScores]]:
    """Fit the refusal model on half of each set and score it on the other half, each kind of
    out-of-corpus question separately.

    Answerable: SQuAD's answerable questions and the gold set's. Out of corpus: SciFact claims
    (off-domain: train claims to fit, test claims to score), SQuAD's unanswerable questions
    (near-domain: written on the paragraphs, unanswered by them) and the gold set's unanswerable
    ones (on the bundled article's own subject). The threshold is the highest that refuses at
    most ``max_false_refusals`` of the calibration half's answerable questions.
    Returns the model and the held-out scores by kind."""
    squad, gold = load_dataset("squad"), load_dataset("gold")
    train_claims = [q.text for q in load_beir(EVAL_DIR / "scifact", "train").queries]
    test_claims = [q.text for q in load_beir(EVAL_DIR / "scifact", "test").queries]
    answerable = {d.name: [q for q in d.queries if q.answerable] for d in (squad, gold)}
    unanswerable = {d.name: [q for q in d.queries if not q.answerable] for d in (squad, gold)}
    positives, negatives = [], []
    with opener(squad.name) as on_squad, opener(gold.name) as on_gold:
        for answerer, dataset in ((on_squad, squad), (on_gold, gold)):
            ingest(answerer, dataset, progress)

        def features(answerer: Answerer, questions: Sequence[str]) -> list[list[float]]:
            return [answerer.retrieve(q).features for q in questions]

        positives += features(on_squad, _half(answerable[squad.name], held_out=False))
        positives += features(on_gold, _half(answerable[gold.name], held_out=False))
        negatives += features(on_squad, train_claims)
        negatives += features(on_squad, _half(unanswerable[squad.name], held_out=False))
        negatives += features(on_gold, _half(unanswerable[gold.name], held_out=False))
        names = ANSWER_FEATURES if on_squad.picker.scores else FEATURES
        model = fit_refusal(
            np.array(positives), np.array(negatives), max_false_refusals, features=names
        )

        def scored(answerer: Answerer, name: str, out: Sequence[str]) -> RefusalScores:
            held = Answerer(answerer.corpus, answerer.retriever, answerer.picker, model)
            return refusal(held, _half(answerable[name], held_out=True), out)

        return model, {
            "off-domain (SciFact test claims, SQuAD corpus)": scored(
                on_squad, squad.name, test_claims
            ),
            "near-domain (SQuAD unanswerable)": scored(
                on_squad, squad.name, _half(unanswerable[squad.name], held_out=True)
            ),
            "article subject (gold unanswerable)": scored(
                on_gold, gold.name, _half(unanswerable[gold.name], held_out=True)
            ),
            "off-domain on the bundled article (SciFact test claims)": scored(
                on_gold, gold.name, test_claims
            ),
        }


def to_json(report: dict[str, Any]) -> dict[str, Any]:
    """The report as JSON-ready values."""
    from dataclasses import asdict

    cross = report["cross_domain_refusal"]
    return {
        "datasets": [asdict(r) for r in report["datasets"]],
        "cross_domain_refusal": asdict(cross) if cross else None,
    }


def format_table(report: dict[str, Any]) -> str:
    """The report as aligned text tables."""
    lines = [
        f"{'dataset':<10} {'method':<7} {'queries':>7} {'nDCG@10':>8} {'MRR@10':>7} "
        + " ".join(f"{'R@' + str(k):>6}" for k in (1, 3, 5, 10, 100))
    ]
    for r in report["datasets"]:
        for s in r.retrieval:
            lines.append(
                f"{r.name:<10} {s.method:<7} {s.queries:>7} {s.ndcg_at_10:>8.3f} "
                f"{s.mrr_at_10:>7.3f} "
                + " ".join(f"{s.recall[k]:>6.3f}" for k in (1, 3, 5, 10, 100))
            )
    lines.append("")
    for r in report["datasets"]:
        parts = [f"{r.name}: {r.articles} articles, {r.passages} passages, {r.seconds:.0f} s"]
        if r.answers is not None:
            a = r.answers
            parts.append(
                f"asked ({a.queries} q): answered {a.answered:.3f}, cited first "
                f"{a.cited_first:.3f}, in the first three {a.cited_top3:.3f}; "
                f"answer sentence holds the span {a.sentence_holds:.3f}"
                + (f" (a stale one {a.sentence_stale:.3f})" if r.kind == "recency" else "")
                + "; "
                f"answer_span found {a.span_found:.3f}, exact {a.span_exact:.3f}, "
                f"F1 {a.span_f1:.3f}"
            )
        if r.refusal is not None:
            parts.append(_refusal_line(r.refusal))
        if r.temporal is not None:
            parts.append(temporal_line(r.temporal))
        if r.followups is not None:
            f = r.followups
            parts.append(
                f"follow-ups ({f.conversations} conversations): last turn R@3 "
                f"{f.with_history:.3f} with history, {f.without_history:.3f} without; its "
                f"answer sentence holds the span {f.sentence_with_history:.3f}"
            )
        for d in r.diversity:
            cap = "no cap" if d.max_per_article is None else f"at most {d.max_per_article}/article"
            parts.append(
                f"top {d.k} passages, {cap}: {d.distinct_articles:.2f} articles, "
                f"relevant covered {d.article_recall:.3f}"
            )
        lines.append("; ".join(parts))
    for r in report["datasets"]:
        if r.answers is None or not r.answers.by_type:
            continue
        lines.append("")
        lines.append(
            f"{r.name} by answer type: {'type':<13} {'queries':>7} {'answered':>8} {'R@1':>6} "
            f"{'R@3':>6} {'sentence':>8} {'found':>6} {'exact':>6} {'F1':>6}"
        )
        indent = " " * (len(r.name) + 17)
        for name, t in r.answers.by_type.items():
            lines.append(
                f"{indent}{name:<13} {t.queries:>7} {t.answered:>8.3f} {t.cited_first:>6.3f} "
                f"{t.cited_top3:>6.3f} {t.sentence_holds:>8.3f} {t.span_found:>6.3f} "
                f"{t.span_exact:>6.3f} {t.span_f1:>6.3f}"
            )
        if r.refusal is not None and r.refusal.recall_by_type:
            lines.append(
                f"{r.name} out-of-corpus refused by type: "
                + ", ".join(
                    f"{name} {share:.3f}" for name, share in r.refusal.recall_by_type.items()
                )
            )
    cross = report["cross_domain_refusal"]
    if cross is not None:
        lines.append("squad answerable vs scifact claims: " + _refusal_line(cross))
    return "\n".join(lines)


def precision_text(r: RefusalScores) -> str:
    """The refusal precision for a report line ("n/a" when nothing was refused)."""
    return "n/a (nothing refused)" if r.precision is None else f"{r.precision:.3f}"


def _refusal_line(r: RefusalScores) -> str:
    return (
        f"refusal precision {precision_text(r)} recall {r.recall:.3f}, answerable refused "
        f"{r.false_refusals:.3f} ({r.answerable} in / {r.unanswerable} out)"
    )


def draw_chart(report: dict[str, Any], path: Path) -> None:
    """Recall@k curves per method, one panel per dataset, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = report["datasets"]
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.2 * len(datasets), 3.6), squeeze=False)
    for ax, r in zip(axes[0], datasets, strict=True):
        for s in r.retrieval:
            ks = sorted(s.recall)
            ax.plot(ks, [s.recall[k] for k in ks], marker="o", label=s.method)
        ax.set_xscale("log")
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.set_title(f"{r.name} ({r.retrieval[0].queries} queries)")
        ax.set_xlabel("k")
        ax.set_ylabel("recall@k")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
