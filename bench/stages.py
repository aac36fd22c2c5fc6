"""``qa profile``: where one question's time goes, stage by stage, in this process.

Each question goes through the stages ``POST /api/ask`` runs, timed one by one: encode, retrieve,
the refusal signals, the answer sentence, the stored turn and the JSON of the response; the
median of each is printed with its share of the total. ``--cprofile`` adds the functions that
took the most time of their own. The server's HTTP layer is left out: ``qa bench`` measures the
whole request.

The module also runs as a script (``python bench/stages.py``) and uses only calls that older
versions of the service have too, so ``PYTHONPATH=<older checkout> python bench/stages.py``
profiles that version the same way.
"""

from __future__ import annotations

import cProfile
import io
import itertools
import pstats
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

STAGES = ("encode", "retrieve", "refusal signals", "answer sentence", "store turn", "JSON")


def profile(data_dir: Path, questions: Sequence[str], top: int = 0) -> Iterator[str]:
    """Lines of the stage table for ``questions`` asked of the corpus in ``data_dir`` (the
    bundled article when new), then the ``top`` functions by own time if ``top``."""
    from api.schemas import AskResponse
    from qa.answer import MIN_POOL
    from qa.conversation.models import Turn
    from qa.refusal import refusal_features
    from service.services import build_services
    from service.settings import Settings

    services = build_services(Settings(data_dir=data_dir))
    answerer, store = services.answerer, services.conversations
    retriever, picker = answerer.retriever, answerer.picker

    def one(text: str, timings: dict[str, list[float]] | None) -> None:
        snapshot = answerer.corpus.snapshot
        marks = [time.perf_counter()]
        query = retriever.encode(text)
        marks.append(time.perf_counter())
        hits = retriever.search(snapshot, query, MIN_POOL)
        marks.append(time.perf_counter())
        refusal_features(snapshot, query, hits)
        marks.append(time.perf_counter())
        picker.pick(snapshot, query, hits[:5], text)
        marks.append(time.perf_counter())
        answer = answerer.ask(text, snapshot=snapshot)  # the Answer the last two stages take
        before_store = time.perf_counter()
        store.append(store.new_id(), Turn.of(answer, text))
        marks.append(time.perf_counter())
        AskResponse.of(answer, "0" * 32, 0, text).model_dump_json()
        marks.append(time.perf_counter())
        if timings is not None:
            spans = [b - a for a, b in itertools.pairwise(marks)]
            spans[4] = marks[5] - before_store  # the store, without the ask before it
            for stage, seconds in zip(STAGES, spans, strict=True):
                timings[stage].append(seconds * 1000)

    try:
        for text in questions[:10]:
            one(text, None)  # warm-up: lazy set-up is not a question's cost
        timings: dict[str, list[float]] = {stage: [] for stage in STAGES}
        for text in questions:
            one(text, timings)
        medians = {stage: statistics.median(v) for stage, v in timings.items()}
        total = sum(medians.values())
        yield f"{len(questions)} questions, median ms per stage:"
        for stage in STAGES:
            share = medians[stage] / total if total else 0.0
            yield f"  {stage:16s} {medians[stage]:7.3f} ms  {share:5.1%}"
        yield f"  {'sum':16s} {total:7.3f} ms"
        if top:

            def again() -> None:
                for text in questions:
                    one(text, None)

            yield from _top(again, top)
    finally:
        services.close()


def _top(run: Callable[[], None], top: int) -> Iterator[str]:
    """The ``top`` functions by own time while ``run`` runs."""
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    yield from (line for line in out.getvalue().splitlines() if line.strip())


def main() -> None:
    """``python bench/stages.py [DATA_DIR [N [TOP]]]``: profile N default questions."""
    from bench.load import default_questions

    data_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("data")
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    for line in profile(data_dir, default_questions()[:count], top):
        print(line)


if __name__ == "__main__":
    main()
