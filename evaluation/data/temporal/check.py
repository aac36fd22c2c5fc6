"""Validate the temporal set with the standard library alone: `python3 check.py` prints a
summary and PASS (exit 0), or the errors (exit 1)."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent


def read(name: str) -> list[dict]:
    with open(HERE / name, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def main() -> int:
    errors: list[str] = []
    articles = {a["id"]: a for a in read("articles.jsonl")}
    for a in articles.values():
        for key in ("id", "title", "text", "published"):
            if not a.get(key):
                errors.append(f"article {a.get('id')}: no {key}")
        date.fromisoformat(a["published"])
    questions = read("questions.jsonl")
    ids = [q["id"] for q in questions]
    if len(set(ids)) != len(ids):
        errors.append("question ids repeat")
    for q in questions:
        where = f"question {q['id']}"
        date.fromisoformat(q["as_of"])
        window = q["window"]
        if window is not None and date.fromisoformat(window["from"]) > date.fromisoformat(
            window["to"]
        ):
            errors.append(f"{where}: window runs backwards")
        if q["article"] is None:
            if window is None or q["answers"]:
                errors.append(f"{where}: an empty-period question needs a window, no answers")
            elif any(window["from"] <= a["published"] <= window["to"] for a in articles.values()):
                errors.append(f"{where}: an article is published in its 'empty' window")
            continue
        article = articles.get(q["article"])
        if article is None:
            errors.append(f"{where}: unknown article {q['article']}")
            continue
        if window is not None and not window["from"] <= article["published"] <= window["to"]:
            errors.append(f"{where}: {q['article']} is published outside the window")
        if article["published"] > q["as_of"]:
            errors.append(f"{where}: {q['article']} is published after as_of")
        for answer in q["answers"]:
            if answer not in article["text"]:
                errors.append(f"{where}: answer {answer!r} not in {q['article']}")
        for stale in q["stale"]:
            if not any(stale in a["text"] for a in articles.values() if a["id"] != q["article"]):
                errors.append(f"{where}: stale {stale!r} is in no other article")
        if q["latest"] and window is not None:
            errors.append(f"{where}: a latest question names no period")
    timelines = read("timelines.jsonl")
    events = 0
    for t in timelines:
        days = [e["date"] for e in t["events"]]
        if days != sorted(days):
            errors.append(f"timeline {t['id']}: events out of order")
        for e in t["events"]:
            events += 1
            article = articles.get(e["article"])
            if article is None or e["text"] not in article["text"]:
                errors.append(f"timeline {t['id']}: {e['text']!r} not in {e['article']}")
            elif e["date"] > article["published"]:
                errors.append(f"timeline {t['id']}: {e['text']!r} dated after publication")
    if errors:
        print("\n".join(errors))
        return 1
    windows = sum(q["window"] is not None for q in questions)
    latest = sum(q["latest"] for q in questions)
    print(
        f"{len(articles)} articles, {len(questions)} questions ({windows} with a period,"
        f" {latest} latest, {len(questions) - windows - latest} evergreen),"
        f" {len(timelines)} timelines with {events} events"
    )
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
