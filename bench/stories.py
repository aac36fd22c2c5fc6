"""How well near-duplicate detection groups syndicated copies, and what it costs.

The mixed set: the recency evaluation set's 18 articles (6 stories reported twice, the update
a different article on the same subject, and 6 others), and SQuAD 2.0 dev's Wikipedia
paragraphs cut into articles of four (several per title: articles on one subject that are not
copies). For a seeded half of these originals, one to three syndicated copies are made, each
by one transformation: trimmed (the first half of the paragraphs), re-headlined with a
paragraph from another article added, copy-edited (one word in twenty replaced, a sentence
dropped), wrapped in wire boilerplate (dateline and copyright line), or re-flowed (two
paragraphs merged). Truth: a copy belongs to its original's story; everything else is apart,
the recency updates included. Articles arrive in a shuffled order, one at a time, as ingest
sees them. Precision and recall are over pairs of articles put in one story.

    python -m bench.stories [--embed]    # --embed: also the cost against the real model
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from index.engine import open_engine, sqlite_url
from index.models import Article
from index.store import Database
from index.stories import StoryIndex

DATA = Path(__file__).parents[1] / "evaluation" / "data"
WIRE = "(Wire) — "
COPYRIGHT = "© Wire Services 2026. All rights reserved. Not for redistribution."


def originals() -> list[Article]:
    """The recency set's articles and SQuAD dev's paragraphs, four to an article."""
    articles = []
    for line in (DATA / "recency" / "articles.jsonl").read_text().splitlines():
        r = json.loads(line)
        articles.append(Article(r["id"], r["title"], r["text"], published=r.get("published")))
    squad = json.loads((DATA / "squad2-dev" / "dev-v2.0.json").read_text())["data"]
    for doc in squad:
        paragraphs = [p["context"] for p in doc["paragraphs"]]
        for i in range(0, len(paragraphs) - 3, 4):
            articles.append(
                Article(
                    f"{doc['title']}-{i // 4}", doc["title"], "\n\n".join(paragraphs[i : i + 4])
                )
            )
    return articles


def _paragraphs(a: Article) -> list[str]:
    return a.text.split("\n\n")


def trimmed(a: Article, rng: random.Random, others: list[Article]) -> str:
    ps = _paragraphs(a)
    return "\n\n".join(ps[: max(1, len(ps) // 2)])


def reheadlined(a: Article, rng: random.Random, others: list[Article]) -> str:
    ps = _paragraphs(a)
    extra = _paragraphs(rng.choice(others))[0]
    ps.insert(rng.randrange(1, len(ps) + 1), extra)
    return "\n\n".join(ps)


def copy_edited(a: Article, rng: random.Random, others: list[Article]) -> str:
    words = a.text.split(" ")
    vocabulary = " ".join(o.text for o in others[:5]).split()
    for i in rng.sample(range(len(words)), len(words) // 20):
        words[i] = rng.choice(vocabulary)
    sentences = " ".join(words).split(". ")
    if len(sentences) > 3:
        del sentences[rng.randrange(len(sentences))]
    return ". ".join(sentences)


def boilerplate(a: Article, rng: random.Random, others: list[Article]) -> str:
    return f"{a.title.upper()} {WIRE}{a.text}\n\n{COPYRIGHT}"


def reflowed(a: Article, rng: random.Random, others: list[Article]) -> str:
    ps = _paragraphs(a)
    if len(ps) > 1:
        i = rng.randrange(len(ps) - 1)
        ps[i : i + 2] = [ps[i] + " " + ps[i + 1]]
    return "\n\n".join(ps)


TRANSFORMS: dict[str, Callable[[Article, random.Random, list[Article]], str]] = {
    "trimmed": trimmed,
    "re-headlined + paragraph": reheadlined,
    "copy-edited": copy_edited,
    "boilerplate": boilerplate,
    "re-flowed": reflowed,
}


def mixed_set(seed: int = 7) -> tuple[list[Article], dict[str, str], dict[str, str]]:
    """The articles, each one's true story, and each copy's transformation."""
    rng = random.Random(seed)
    base = originals()
    truth = {a.id: a.id for a in base}
    how: dict[str, str] = {}
    articles = list(base)
    for a in base:
        if rng.random() >= 0.5:
            continue
        others = [o for o in base if o.title != a.title]
        for n, name in enumerate(rng.sample(sorted(TRANSFORMS), rng.randint(1, 3))):
            text = TRANSFORMS[name](a, rng, others)
            title = f"Copy: {a.title}" if name == "re-headlined + paragraph" else a.title
            copy = replace(a, id=f"{a.id}~{n}", title=title, text=text)
            articles.append(copy)
            truth[copy.id], how[copy.id] = a.id, name
    rng.shuffle(articles)
    return articles, truth, how


def fixture_set() -> tuple[list[Article], dict[str, str], dict[str, str]]:
    """The tests' fixtures: three outlets' copies and a story on the same subject."""
    from tests.stories import COPIES, SAME_SUBJECT

    truth = {a.id: COPIES[0].id for a in COPIES} | {SAME_SUBJECT.id: SAME_SUBJECT.id}
    return [*COPIES, SAME_SUBJECT], truth, {}


def story_index(folder: Path, threshold: float) -> StoryIndex:
    folder.mkdir(parents=True, exist_ok=True)
    url = sqlite_url(folder / f"stories-{threshold}.sqlite")
    Database(url).close()  # creates the tables
    return StoryIndex(open_engine(url), threshold=threshold)


def grouped(articles: list[Article], stories: StoryIndex) -> tuple[dict[str, str], list[float]]:
    assigned: dict[str, str] = {}
    seconds = []
    for a in articles:
        started = time.perf_counter()
        assigned.update(stories.assign([a]))
        seconds.append(time.perf_counter() - started)
    return assigned, seconds


def pairs(labels: dict[str, str]) -> set[frozenset[str]]:
    by: dict[str, list[str]] = {}
    for a, s in labels.items():
        by.setdefault(s, []).append(a)
    return {frozenset(p) for m in by.values() for p in itertools.combinations(m, 2)}


def score(predicted: dict[str, str], truth: dict[str, str]) -> tuple[float, float, int, int]:
    found, true = pairs(predicted), pairs(truth)
    hit = len(found & true)
    precision = hit / len(found) if found else 1.0
    recall = hit / len(true) if true else 1.0
    return precision, recall, len(found), len(true)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embed", action="store_true", help="Time the real model too.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name, (articles, truth, how) in (
            ("fixtures", fixture_set()),
            ("mixed set", mixed_set()),
        ):
            copies = len(how)
            print(f"{name}: {len(articles)} articles, {copies} copies made")
            for threshold in (0.5, 0.6, 0.7, 0.8):
                stories = story_index(Path(tmp) / name.replace(" ", "-"), threshold)
                predicted, seconds = grouped(articles, stories)
                p, r, found, true = score(predicted, truth)
                print(
                    f"  threshold {threshold}: precision {p:.3f} recall {r:.3f}"
                    f" ({found} pairs grouped, {true} true pairs);"
                    f" {1000 * sum(seconds) / len(seconds):.2f} ms per article"
                )
                if threshold == 0.7 and how:
                    for kind in sorted(TRANSFORMS):
                        ids = [a for a, k in how.items() if k == kind]
                        ok = sum(predicted[a] == predicted[truth[a]] for a in ids)
                        print(f"    {kind}: {ok}/{len(ids)} joined their original's story")
                    updates = [a for a in truth if a.endswith("-v2")]
                    apart = sum(predicted[a] != predicted[a[:-3] + "-v1"] for a in updates)
                    print(
                        f"    recency updates kept apart from the first report: "
                        f"{apart}/{len(updates)}"
                    )
        if args.embed:
            cost(mixed_set()[0][:60], Path(tmp))


def cost(articles: list[Article], folder: Path) -> None:
    """The duplicate check's time per article against embedding that article's passages."""
    from index.chunk import chunk_article
    from index.embed import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    embedder.embed_passages(["warm up"])
    stories = story_index(folder / "cost", 0.7)
    grouped(mixed_set()[0], stories)  # the check runs against a populated index
    ratios, checks, embeds = [], [], []
    for a in articles:
        texts = [p.text for p in chunk_article(a)]
        started = time.perf_counter()
        embedder.embed_passages(texts)
        embed = time.perf_counter() - started
        started = time.perf_counter()
        stories.assign([replace(a, id=a.id + "#again")])
        check = time.perf_counter() - started
        ratios.append(check / embed)
        checks.append(check)
        embeds.append(embed)
    ratios.sort()
    print(
        f"cost over {len(articles)} articles: check {1000 * sum(checks) / len(checks):.1f} ms,"
        f" embedding {1000 * sum(embeds) / len(embeds):.1f} ms per article;"
        f" ratio median {ratios[len(ratios) // 2]:.3f}, max {ratios[-1]:.3f}"
    )


if __name__ == "__main__":
    main()
