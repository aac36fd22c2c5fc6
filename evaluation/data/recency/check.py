#!/usr/bin/env python3
"""Validate the fictional recency fixture (articles.jsonl and questions.jsonl).

Standard library only. Run:  python3 check.py   (exit status 0 = PASS, 1 = FAIL)
"""
from __future__ import annotations

import datetime
import difflib
import json
import os
import re
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
ARTICLES_FILE = os.path.join(HERE, "articles.jsonl")
QUESTIONS_FILE = os.path.join(HERE, "questions.jsonl")

ARTICLE_KEYS = {"id", "title", "text", "published", "source", "author"}
QUESTION_KEYS = {"id", "question", "story", "newer", "older", "answers", "stale", "changed"}

# The same rule the service applies to article ids (index/sources.py).
ARTICLE_ID = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._:-]{0,199}\Z")
VERSION_ID = re.compile(r"\A(?P<story>[a-z0-9]+(?:-[a-z0-9]+)*)-v(?P<n>[12])\Z")
QUESTION_ID = re.compile(r"\Ar\d{3}\Z")

N_STORIES = 6
MIN_DISTRACTORS = 6
MIN_QUESTIONS = 36
MIN_PER_STORY = 5
MIN_CHANGED_SHARE = 2 / 3
MIN_WORDS, MAX_WORDS = 250, 600
MIN_PARAS, MAX_PARAS = 4, 8
MIN_GAP_DAYS, MAX_GAP_DAYS = 1, 10
MAX_SPAN_CHARS = 200
# An update must repeat much of the earlier text: this share of the earlier version's sentences
# must reappear in the update verbatim or nearly so (difflib ratio >= NEAR), and at least
# MIN_IDENTICAL of them verbatim.
MIN_SHARED_SHARE = 0.4
MIN_IDENTICAL = 3
NEAR = 0.8
NGRAM_COPY = 6  # a question sharing this many consecutive words with its story is not paraphrased
# Questions must not name the version they expect.
VERSION_WORDS = re.compile(
    r"\b(version|versions|update|updated|updates|earlier|original|originally|initial|initially|"
    r"latest|newest|newer|older|first report|v1|v2)\b",
    re.IGNORECASE,
)
SENT_SPLIT = re.compile(r'(?<=[.!?])\s+|(?<=[.!?]")\s+')

errors: list[str] = []


def err(msg: str) -> None:
    errors.append(msg)


def load_jsonl(path: str) -> list[tuple[int, dict]]:
    name = os.path.basename(path)
    rows = []
    try:
        fh = open(path, encoding="utf-8")
    except OSError as e:
        err(f"{name}: cannot open: {e}")
        return rows
    with fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                err(f"{name}:{n}: blank line")
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                err(f"{name}:{n}: JSON error: {e}")
                continue
            if not isinstance(obj, dict):
                err(f"{name}:{n}: not a JSON object")
                continue
            rows.append((n, obj))
    return rows


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:['’\-][a-z0-9]+)*", text.lower())


def sentences(text: str) -> list[str]:
    return [s for p in text.split("\n\n") for s in SENT_SPLIT.split(p) if s.strip()]


def parse_date(where: str, value: object) -> datetime.date | None:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        err(f"{where}: published {value!r} is not YYYY-MM-DD")
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        err(f"{where}: published {value!r} is not a calendar date")
        return None


# ---------------------------------------------------------------- articles
articles: dict[str, dict] = {}
dates: dict[str, datetime.date] = {}
titles: set[str] = set()
for n, a in load_jsonl(ARTICLES_FILE):
    where = f"articles.jsonl:{n}"
    if set(a) != ARTICLE_KEYS:
        err(f"{where}: keys {sorted(a)} != {sorted(ARTICLE_KEYS)}")
        continue
    bad = [k for k in sorted(ARTICLE_KEYS) if not isinstance(a[k], str) or not a[k].strip()]
    if bad:
        err(f"{where}: empty or non-string field(s) {bad}")
        continue
    aid = a["id"]
    where = f"articles.jsonl:{n} ({aid})"
    if not ARTICLE_ID.match(aid):
        err(f"{where}: id is not a valid article id")
    if aid in articles:
        err(f"{where}: duplicate article id")
        continue
    if a["title"] in titles:
        err(f"{where}: duplicate title")
    titles.add(a["title"])
    d = parse_date(where, a["published"])
    if d is not None:
        dates[aid] = d
    text = a["text"]
    # The service stores NFC text without control characters, trailing spaces or surrounding
    # whitespace; text already in that form keeps its offsets, so the spans below stay exact.
    if unicodedata.normalize("NFC", text) != text:
        err(f"{where}: text is not NFC")
    if any(ch not in "\n" and unicodedata.category(ch) == "Cc" for ch in text):
        err(f"{where}: text holds control characters other than newline")
    if text != text.strip() or any(line != line.rstrip() for line in text.split("\n")):
        err(f"{where}: text has leading/trailing whitespace")
    paras = text.split("\n\n")
    if any(not p.strip() or "\n" in p or p != p.strip() for p in paras):
        err(f"{where}: paragraphs must be non-empty and separated by exactly one blank line")
    if not MIN_PARAS <= len(paras) <= MAX_PARAS:
        err(f"{where}: {len(paras)} paragraphs, expected {MIN_PARAS}-{MAX_PARAS}")
    nwords = len(text.split())
    if not MIN_WORDS <= nwords <= MAX_WORDS:
        err(f"{where}: {nwords} words, expected {MIN_WORDS}-{MAX_WORDS}")
    articles[aid] = a

# Story versions are "<story>-v1" (earlier) and "<story>-v2" (update); everything else is a
# distractor.
stories: dict[str, dict[str, str]] = {}
distractors: list[str] = []
for aid in articles:
    m = VERSION_ID.match(aid)
    if m:
        stories.setdefault(m["story"], {})[m["n"]] = aid
    else:
        distractors.append(aid)

pair_stats: dict[str, tuple] = {}
for story, versions in sorted(stories.items()):
    if set(versions) != {"1", "2"}:
        err(f"story {story}: needs both -v1 and -v2, has {sorted(versions)}")
        continue
    old, new = articles[versions["1"]], articles[versions["2"]]
    if old["id"] in dates and new["id"] in dates:
        gap = (dates[new["id"]] - dates[old["id"]]).days
        if not MIN_GAP_DAYS <= gap <= MAX_GAP_DAYS:
            err(f"story {story}: update published {gap} days after the earlier version, "
                f"expected {MIN_GAP_DAYS}-{MAX_GAP_DAYS}")
    else:
        gap = None
    if old["text"] == new["text"]:
        err(f"story {story}: both versions have the same text")
    old_s, new_s = sentences(old["text"]), sentences(new["text"])
    new_set = set(new_s)
    identical = sum(s in new_set for s in old_s)
    near = sum(
        s not in new_set
        and max(difflib.SequenceMatcher(None, s, t).ratio() for t in new_s) >= NEAR
        for s in old_s
    )
    share = (identical + near) / len(old_s)
    if identical < MIN_IDENTICAL or share < MIN_SHARED_SHARE:
        err(f"story {story}: update repeats too little of the earlier text "
            f"({identical} identical + {near} near-identical of {len(old_s)} sentences)")
    pair_stats[story] = (old, new, gap, identical, near, len(old_s))

if len(stories) != N_STORIES:
    err(f"{len(stories)} stories, expected {N_STORIES}")
if len(distractors) < MIN_DISTRACTORS:
    err(f"{len(distractors)} distractor articles, expected at least {MIN_DISTRACTORS}")


# ---------------------------------------------------------------- questions
def check_span(where: str, span: object, kind: str) -> bool:
    if not isinstance(span, str) or not span.strip() or span != span.strip():
        err(f"{where}: {kind} span {span!r} must be a non-empty string without outer spaces")
        return False
    if "\n" in span:
        err(f"{where}: {kind} span {span!r} crosses a paragraph break")
    if len(span) > MAX_SPAN_CHARS:
        err(f"{where}: {kind} span is longer than {MAX_SPAN_CHARS} characters")
    return True


questions = load_jsonl(QUESTIONS_FILE)
qids: set[str] = set()
qtexts: set[str] = set()
per_story: dict[str, list[bool]] = {s: [] for s in stories}
n_answer_spans = n_stale_spans = 0
for n, q in questions:
    where = f"questions.jsonl:{n}"
    if set(q) != QUESTION_KEYS:
        err(f"{where}: keys {sorted(q)} != {sorted(QUESTION_KEYS)}")
        continue
    qid = q["id"]
    where = f"questions.jsonl:{n} ({qid})"
    if not isinstance(qid, str) or not QUESTION_ID.match(qid):
        err(f"{where}: id must look like r001")
    elif qid in qids:
        err(f"{where}: duplicate question id")
    qids.add(str(qid))
    text = q["question"]
    if not isinstance(text, str) or not text.strip().endswith("?"):
        err(f"{where}: question must be a string ending with '?'")
        continue
    if text.casefold() in qtexts:
        err(f"{where}: duplicate question text")
    qtexts.add(text.casefold())
    if VERSION_WORDS.search(text):
        err(f"{where}: question names a version ({VERSION_WORDS.search(text).group()!r})")
    story = q["story"]
    if story not in stories or set(stories[story]) != {"1", "2"}:
        err(f"{where}: unknown story {story!r}")
        continue
    if q["newer"] != stories[story]["2"] or q["older"] != stories[story]["1"]:
        err(f"{where}: newer/older must be {stories[story]['2']!r}/{stories[story]['1']!r}")
        continue
    newer, older = articles[q["newer"]], articles[q["older"]]
    if dates.get(newer["id"]) and dates.get(older["id"]) and not dates[newer["id"]] > dates[older["id"]]:
        err(f"{where}: newer is not published after older")
    changed = q["changed"]
    if not isinstance(changed, bool):
        err(f"{where}: changed must be true or false")
        continue
    per_story[story].append(changed)
    answers, stale = q["answers"], q["stale"]
    if not isinstance(answers, list) or not answers:
        err(f"{where}: answers must be a non-empty list")
        continue
    if not isinstance(stale, list):
        err(f"{where}: stale must be a list")
        continue
    if len(set(answers)) != len(answers) or len(set(stale)) != len(stale):
        err(f"{where}: repeated span")
    if set(answers) & set(stale):
        err(f"{where}: a span is in both answers and stale")
    # Not paraphrased: shares NGRAM_COPY consecutive words with either version.
    qw = words(text)
    for art in (older, newer):
        aw = words(art["text"])
        grams = {tuple(aw[i:i + NGRAM_COPY]) for i in range(len(aw) - NGRAM_COPY + 1)}
        hit = next((g for g in (tuple(qw[i:i + NGRAM_COPY])
                                for i in range(len(qw) - NGRAM_COPY + 1)) if g in grams), None)
        if hit:
            err(f"{where}: question copies {' '.join(hit)!r} from {art['id']}")
            break
    others = [a for aid, a in articles.items() if aid not in (newer["id"], older["id"])]
    for span in answers:
        if not check_span(where, span, "answers"):
            continue
        n_answer_spans += 1
        if span not in newer["text"]:
            err(f"{where}: answers span {span!r} is not in {newer['id']}")
        if changed and span in older["text"]:
            err(f"{where}: changed, but answers span {span!r} is also in {older['id']}")
        if not changed and span not in older["text"]:
            err(f"{where}: unchanged, but answers span {span!r} is not in {older['id']}")
        for other in others:
            if span in other["text"]:
                err(f"{where}: answers span {span!r} also occurs in unrelated {other['id']}")
    if changed:
        if not stale:
            err(f"{where}: changed question needs at least one stale span")
        for span in stale:
            if not check_span(where, span, "stale"):
                continue
            n_stale_spans += 1
            if span not in older["text"]:
                err(f"{where}: stale span {span!r} is not in {older['id']}")
            if span in newer["text"]:
                err(f"{where}: stale span {span!r} still occurs in {newer['id']}")
            for other in others:
                if span in other["text"]:
                    err(f"{where}: stale span {span!r} also occurs in unrelated {other['id']}")
    elif stale:
        err(f"{where}: unchanged question must have stale = []")

n_q = sum(len(v) for v in per_story.values())
n_changed = sum(sum(v) for v in per_story.values())
if n_q < MIN_QUESTIONS:
    err(f"{n_q} valid questions, expected at least {MIN_QUESTIONS}")
if n_q and n_changed / n_q < MIN_CHANGED_SHARE:
    err(f"only {n_changed}/{n_q} questions ask about a changed fact, expected at least 2/3")
if n_q and n_changed == n_q:
    err("no question asks about an unchanged fact")
for story, flags in sorted(per_story.items()):
    if len(flags) < MIN_PER_STORY:
        err(f"story {story}: {len(flags)} questions, expected at least {MIN_PER_STORY}")

# ---------------------------------------------------------------- summary
n_versions = sum(len(v) for v in stories.values())
print(f"articles: {len(articles)} ({n_versions} story versions in {len(stories)} stories, "
      f"{len(distractors)} distractors)")
print(f"questions: {n_q} ({n_changed} changed, {n_q - n_changed} unchanged; "
      f"{(n_changed / n_q if n_q else 0):.0%} changed); spans: {n_answer_spans} answers, "
      f"{n_stale_spans} stale")
print()
print(f"{'story':<16} {'earlier':<10} {'update':<10} {'gap':>4} {'words':>9} "
      f"{'same/near/of sent.':>19} {'questions (chg/unchg)':>22}")
for story, (old, new, gap, identical, near, total) in sorted(pair_stats.items()):
    flags = per_story.get(story, [])
    print(f"{story:<16} {old['published']:<10} {new['published']:<10} {str(gap) + 'd':>4} "
          f"{len(old['text'].split()):>4}/{len(new['text'].split()):<4} "
          f"{f'{identical}/{near}/{total}':>19} "
          f"{f'{len(flags)} ({sum(flags)}/{len(flags) - sum(flags)})':>22}")
print(f"distractors: {', '.join(sorted(distractors))}")
print()
if errors:
    for e in errors:
        print("ERROR:", e)
    print(f"FAIL ({len(errors)} errors)")
    sys.exit(1)
print("PASS")
sys.exit(0)
