#!/usr/bin/env python3
"""Validate the hand-written gold QA files for the Diplomat article.

Standard library only. Run:  python3 check.py   (exit code 0 = pass)
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ARTICLE = "/work/shared/corpus/diplomat-china-pakistan-ties-under-pressure.txt"
QA_FILE = os.path.join(HERE, "diplomat.jsonl")
FU_FILE = os.path.join(HERE, "diplomat_followups.jsonl")

# Body of the article: from the first body sentence up to (not including)
# the page chrome ("Want to read more?").  Title, dek, byline, paywall text,
# author bio and related-story links are excluded.
BODY_START = "Pakistan and China’s relationship is currently facing"
BODY_END = "Want to read more?"

MIN_ANSWERABLE = 48
MIN_UNANSWERABLE = 20
MIN_CONVERSATIONS = 12
MAX_SPAN_CHARS = 160      # "a few words up to one clause"
NGRAM_COPY = 6            # question sharing this many consecutive words with the body = not paraphrased

errors = []
warnings = []


def err(msg):
    errors.append(msg)


def load_jsonl(path):
    rows = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                err(f"{os.path.basename(path)}:{n}: blank line")
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                err(f"{os.path.basename(path)}:{n}: JSON error: {e}")
                continue
            if not isinstance(obj, dict):
                err(f"{os.path.basename(path)}:{n}: not a JSON object")
                continue
            rows.append((n, obj))
    return rows


with open(ARTICLE, encoding="utf-8") as fh:
    article = fh.read()

s = article.index(BODY_START)
e = article.index(BODY_END)
body = article[s:e]
paragraphs = [p.strip() for p in body.split("\n") if p.strip()]

# Sentence split: after . ! ? (optionally followed by a closing curly quote) + whitespace.
SENT_SPLIT = re.compile(r"(?<=[.!?])\s+|(?<=[.!?]”)\s+")
sentences = []          # (paragraph index, sentence)
for pi, p in enumerate(paragraphs):
    for sent in SENT_SPLIT.split(p):
        if sent.strip():
            sentences.append((pi, sent))


def words(text):
    return re.findall(r"[a-z0-9’'\-]+", text.lower())


body_words = words(body)
body_ngrams = {tuple(body_words[i:i + NGRAM_COPY]) for i in range(len(body_words) - NGRAM_COPY + 1)}


def check_span(where, span):
    """Return the set of paragraph indices whose sentences contain span."""
    if not isinstance(span, str) or not span.strip():
        err(f"{where}: empty or non-string span {span!r}")
        return set()
    if span != span.strip():
        err(f"{where}: span has leading/trailing whitespace: {span!r}")
    if span not in article:
        err(f"{where}: span not an exact substring of the article: {span!r}")
        return set()
    if len(span) > MAX_SPAN_CHARS:
        err(f"{where}: span longer than {MAX_SPAN_CHARS} chars: {span!r}")
    paras = {pi for pi, sent in sentences if span in sent}
    if not paras:
        err(f"{where}: span is not inside a single sentence of the article body: {span!r}")
    return paras


def check_question_text(where, q):
    if not isinstance(q, str) or not q.strip():
        err(f"{where}: missing question")
        return
    qw = words(q)
    for i in range(len(qw) - NGRAM_COPY + 1):
        if tuple(qw[i:i + NGRAM_COPY]) in body_ngrams:
            err(f"{where}: question copies {NGRAM_COPY}+ consecutive words from the article: "
                f"{' '.join(qw[i:i + NGRAM_COPY])!r}")
            return


all_ids = set()


def check_id(where, obj, prefix):
    i = obj.get("id")
    if not isinstance(i, str) or not re.fullmatch(prefix + r"\d{3}", i):
        err(f"{where}: bad id {i!r} (expected {prefix}NNN)")
    if i in all_ids:
        err(f"{where}: duplicate id {i!r}")
    all_ids.add(i)
    return i


# ---- single-turn QA -------------------------------------------------------
n_ans = n_unans = 0
covered = set()
questions_seen = set()
for n, obj in load_jsonl(QA_FILE):
    where = f"diplomat.jsonl:{n}"
    keys = set(obj)
    if keys != {"id", "question", "answers", "answerable"}:
        err(f"{where}: unexpected keys {sorted(keys)}")
    ans = obj.get("answers")
    answerable = obj.get("answerable")
    if not isinstance(answerable, bool):
        err(f"{where}: 'answerable' must be true/false")
    check_id(where, obj, "d" if answerable else "u")
    q = obj.get("question", "")
    check_question_text(where, q)
    if q.strip().lower() in questions_seen:
        err(f"{where}: duplicate question text")
    questions_seen.add(q.strip().lower())
    if not isinstance(ans, list):
        err(f"{where}: 'answers' must be a list")
        continue
    if answerable:
        n_ans += 1
        if not 1 <= len(ans) <= 3:
            err(f"{where}: answerable question needs 1-3 spans, has {len(ans)}")
        if len(set(ans)) != len(ans):
            err(f"{where}: duplicate spans")
        for span in ans:
            paras = check_span(where, span)
            if len(paras) == 1:     # only unambiguous spans count toward coverage
                covered |= paras
    else:
        n_unans += 1
        if ans:
            err(f"{where}: unanswerable question must have answers == []")

missing = [i for i in range(len(paragraphs)) if i not in covered]
for i in missing:
    err(f"body paragraph {i + 1} not covered by any answerable question: {paragraphs[i][:70]!r}...")

# ---- follow-up conversations ----------------------------------------------
n_conv = 0
for n, obj in load_jsonl(FU_FILE):
    where = f"diplomat_followups.jsonl:{n}"
    if set(obj) != {"id", "turns"}:
        err(f"{where}: unexpected keys {sorted(obj)}")
    check_id(where, obj, "c")
    turns = obj.get("turns")
    if not isinstance(turns, list) or not 2 <= len(turns) <= 3:
        err(f"{where}: needs 2 or 3 turns")
        continue
    n_conv += 1
    for t_i, turn in enumerate(turns):
        tw = f"{where} turn {t_i + 1}"
        if not isinstance(turn, dict) or not set(turn) <= {"question", "answers"}:
            err(f"{tw}: bad turn object")
            continue
        check_question_text(tw, turn.get("question", ""))
        last = t_i == len(turns) - 1
        ans = turn.get("answers")
        if last and (not isinstance(ans, list) or not ans):
            err(f"{tw}: last turn must carry non-empty 'answers'")
            continue
        if ans is not None:
            if not isinstance(ans, list) or not 1 <= len(ans) <= 3:
                err(f"{tw}: 'answers' must be a list of 1-3 spans")
                continue
            for span in ans:
                check_span(tw, span)

# ---- counts ---------------------------------------------------------------
if n_ans < MIN_ANSWERABLE:
    err(f"only {n_ans} answerable questions (need >= {MIN_ANSWERABLE})")
if n_unans < MIN_UNANSWERABLE:
    err(f"only {n_unans} unanswerable questions (need >= {MIN_UNANSWERABLE})")
if n_conv < MIN_CONVERSATIONS:
    err(f"only {n_conv} conversations (need >= {MIN_CONVERSATIONS})")

print(f"article body: {len(paragraphs)} paragraphs, {len(sentences)} sentences; "
      f"covered {len(covered)}/{len(paragraphs)}")
print(f"answerable: {n_ans}  unanswerable: {n_unans}  conversations: {n_conv}")
for w in warnings:
    print("WARNING:", w)
if errors:
    for x in errors:
        print("ERROR:", x)
    print(f"FAIL ({len(errors)} errors)")
    sys.exit(1)
print("PASS")
