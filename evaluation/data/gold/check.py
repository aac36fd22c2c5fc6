#!/usr/bin/env python3
"""Validate the gold QA files.

* diplomat.jsonl / diplomat_followups.jsonl  (The Diplomat article)
* squad_typed.json                            (typed questions on SQuAD 2.0 dev paragraphs)

Standard library only. Run:  python3 check.py   (exit code 0 = pass)
"""
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ARTICLE = os.path.join(HERE, "..", "..", "..", "index", "default_corpus", "diplomat-china-pakistan-ties-under-pressure.txt")
QA_FILE = os.path.join(HERE, "diplomat.jsonl")
FU_FILE = os.path.join(HERE, "diplomat_followups.jsonl")
SQ_FILE = os.path.join(HERE, "squad_typed.json")
SQ_SOURCE = os.path.join(HERE, "..", "squad2-dev", "dev-v2.0.json")

# Answer-type labels ("type" field, required on every diplomat.jsonl line and every squad_typed.json question).
TYPES = {"person", "organisation", "date", "place", "number", "amount", "percent", "duration",
         "frequency", "nationality", "event", "expansion", "other"}

# Body of the article: from the first body sentence up to (not including)
# the page chrome ("Want to read more?").  Title, dek, byline, paywall text,
# author bio and related-story links are excluded.
BODY_START = "Pakistan and China’s relationship is currently facing"
BODY_END = "Want to read more?"

MIN_ANSWERABLE = 118
MIN_UNANSWERABLE = 70
MIN_CONVERSATIONS = 15
NEAR_DOMAIN_IDS = [f"u{i:03d}" for i in range(31, 71)]   # near-domain unanswerable block u031-u070

# squad_typed.json minimums
SQ_MIN_ANSWERABLE = 60
SQ_MIN_IMPOSSIBLE = 10
SQ_MIN_PARAGRAPHS = 20
SQ_MIN_TITLES = 3
SQ_MIN_GROUPS = {   # answerable questions per group of types
    ("person", "organisation"): 10,
    ("date", "duration"): 10,
    ("place",): 8,
    ("number", "amount", "percent"): 10,
}
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
qa_ids = set()
type_counts = {"answerable": {}, "unanswerable": {}}
for n, obj in load_jsonl(QA_FILE):
    where = f"diplomat.jsonl:{n}"
    keys = set(obj)
    if keys != {"id", "question", "answers", "answerable", "type"}:
        err(f"{where}: unexpected keys {sorted(keys)} (expected answerable, answers, id, question, type)")
    t = obj.get("type")
    if t not in TYPES:
        err(f"{where}: 'type' must be one of {sorted(TYPES)}, got {t!r}")
    else:
        bucket = "answerable" if obj.get("answerable") is True else "unanswerable"
        type_counts[bucket][t] = type_counts[bucket].get(t, 0) + 1
    ans = obj.get("answers")
    answerable = obj.get("answerable")
    if not isinstance(answerable, bool):
        err(f"{where}: 'answerable' must be true/false")
    qa_ids.add(check_id(where, obj, "d" if answerable else "u"))
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

for i in NEAR_DOMAIN_IDS:
    if i not in qa_ids:
        err(f"near-domain unanswerable block: id {i} missing from diplomat.jsonl")

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

# ---- squad_typed.json -------------------------------------------------------
def norm_q(q):
    return " ".join(re.findall(r"[a-z0-9]+", q.lower()))


def check_squad_typed():
    """Validate squad_typed.json; return a dict of counts."""
    c = {"titles": 0, "paragraphs": 0, "answerable": 0, "impossible": 0,
         "types": {}, "impossible_types": {}}
    try:
        with open(SQ_FILE, encoding="utf-8") as fh:
            sq = json.load(fh)
    except (OSError, json.JSONDecodeError) as e:
        err(f"squad_typed.json: cannot load: {e}")
        return c
    with open(SQ_SOURCE, encoding="utf-8") as fh:
        src = json.load(fh)
    # title -> {context: [SQuAD question texts on that paragraph]}
    src_ctx = {}
    for art in src["data"]:
        for p in art["paragraphs"]:
            src_ctx.setdefault(art["title"], {})[p["context"]] = [q["question"] for q in p["qas"]]

    if not isinstance(sq, dict) or set(sq) != {"version", "data"}:
        err("squad_typed.json: top level must be {'version', 'data'}")
        return c
    if sq["version"] != "v2.0":
        err(f"squad_typed.json: version must be 'v2.0', got {sq['version']!r}")
    if not isinstance(sq["data"], list):
        err("squad_typed.json: 'data' must be a list")
        return c
    sq_ids = set()
    seen_ctx = set()
    for a_i, art in enumerate(sq["data"]):
        aw = f"squad_typed.json data[{a_i}]"
        if not isinstance(art, dict) or set(art) != {"title", "paragraphs"}:
            err(f"{aw}: article must have exactly 'title' and 'paragraphs'")
            continue
        title = art["title"]
        if title not in src_ctx:
            err(f"{aw}: title {title!r} not in ../squad2-dev/dev-v2.0.json")
            continue
        c["titles"] += 1
        for p_i, para in enumerate(art["paragraphs"]):
            pw = f"{aw} ({title}) paragraph[{p_i}]"
            if not isinstance(para, dict) or set(para) != {"context", "qas"}:
                err(f"{pw}: paragraph must have exactly 'context' and 'qas'")
                continue
            ctx = para["context"]
            if ctx not in src_ctx[title]:
                err(f"{pw}: context is not identical to any paragraph of {title!r} in dev-v2.0.json")
                continue
            if (title, ctx) in seen_ctx:
                err(f"{pw}: paragraph appears twice")
            seen_ctx.add((title, ctx))
            c["paragraphs"] += 1
            orig_qs = {norm_q(q) for q in src_ctx[title][ctx]}
            para_qs = set()
            for q_i, qa in enumerate(para["qas"]):
                qw = f"{pw} qas[{q_i}]"
                if not isinstance(qa, dict) or set(qa) != {"id", "question", "answers", "is_impossible", "type"}:
                    err(f"{qw}: keys must be id, question, answers, is_impossible, type")
                    continue
                qid = qa["id"]
                if not isinstance(qid, str) or not re.fullmatch(r"t\d{3}", qid):
                    err(f"{qw}: bad id {qid!r} (expected tNNN)")
                if qid in sq_ids:
                    err(f"{qw}: duplicate id {qid!r}")
                sq_ids.add(qid)
                q = qa["question"]
                if not isinstance(q, str) or not q.strip():
                    err(f"{qw}: missing question")
                    continue
                nq = norm_q(q)
                if nq in orig_qs:
                    err(f"{qw} ({qid}): question copies a SQuAD question on this paragraph: {q!r}")
                if nq in para_qs:
                    err(f"{qw} ({qid}): duplicate question on this paragraph")
                para_qs.add(nq)
                t = qa["type"]
                if t not in TYPES:
                    err(f"{qw} ({qid}): 'type' must be one of {sorted(TYPES)}, got {t!r}")
                imp = qa["is_impossible"]
                ans = qa["answers"]
                if not isinstance(imp, bool):
                    err(f"{qw} ({qid}): 'is_impossible' must be true/false")
                    continue
                if not isinstance(ans, list):
                    err(f"{qw} ({qid}): 'answers' must be a list")
                    continue
                if imp:
                    c["impossible"] += 1
                    c["impossible_types"][t] = c["impossible_types"].get(t, 0) + 1
                    if ans:
                        err(f"{qw} ({qid}): impossible question must have answers == []")
                    continue
                c["answerable"] += 1
                c["types"][t] = c["types"].get(t, 0) + 1
                if not 1 <= len(ans) <= 3:
                    err(f"{qw} ({qid}): answerable question needs 1-3 answers, has {len(ans)}")
                seen_spans = set()
                for x in ans:
                    if not isinstance(x, dict) or set(x) != {"text", "answer_start"}:
                        err(f"{qw} ({qid}): answer must have exactly 'text' and 'answer_start'")
                        continue
                    text, start = x["text"], x["answer_start"]
                    if not isinstance(text, str) or not text.strip() or text != text.strip():
                        err(f"{qw} ({qid}): empty answer or leading/trailing whitespace: {text!r}")
                        continue
                    if not isinstance(start, int) or start < 0 or ctx[start:start + len(text)] != text:
                        err(f"{qw} ({qid}): answer {text!r} not found at answer_start={start!r}")
                    if (text, start) in seen_spans:
                        err(f"{qw} ({qid}): duplicate answer {text!r}")
                    seen_spans.add((text, start))
                    if len(text) > MAX_SPAN_CHARS:
                        err(f"{qw} ({qid}): answer longer than {MAX_SPAN_CHARS} chars")
    overlap = sq_ids & all_ids
    if overlap:
        err(f"squad_typed.json: ids also used in the diplomat files: {sorted(overlap)}")
    if c["answerable"] < SQ_MIN_ANSWERABLE:
        err(f"squad_typed.json: only {c['answerable']} answerable questions (need >= {SQ_MIN_ANSWERABLE})")
    if c["impossible"] < SQ_MIN_IMPOSSIBLE:
        err(f"squad_typed.json: only {c['impossible']} impossible questions (need >= {SQ_MIN_IMPOSSIBLE})")
    if c["paragraphs"] < SQ_MIN_PARAGRAPHS:
        err(f"squad_typed.json: only {c['paragraphs']} paragraphs (need >= {SQ_MIN_PARAGRAPHS})")
    if c["titles"] < SQ_MIN_TITLES:
        err(f"squad_typed.json: only {c['titles']} titles (need >= {SQ_MIN_TITLES})")
    for group, need in SQ_MIN_GROUPS.items():
        have = sum(c["types"].get(t, 0) for t in group)
        if have < need:
            err(f"squad_typed.json: only {have} answerable {'/'.join(group)} questions (need >= {need})")
    return c


sq_counts = check_squad_typed()

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


def fmt(d):
    return " ".join(f"{k}={d[k]}" for k in sorted(d))


print(f"diplomat types (answerable): {fmt(type_counts['answerable'])}")
print(f"diplomat types (unanswerable): {fmt(type_counts['unanswerable'])}")
print(f"squad_typed: {sq_counts['titles']} titles, {sq_counts['paragraphs']} paragraphs, "
      f"answerable: {sq_counts['answerable']}  impossible: {sq_counts['impossible']}")
print(f"squad_typed types (answerable): {fmt(sq_counts['types'])}")
print(f"squad_typed types (impossible): {fmt(sq_counts['impossible_types'])}")
for w in warnings:
    print("WARNING:", w)
if errors:
    for x in errors:
        print("ERROR:", x)
    print(f"FAIL ({len(errors)} errors)")
    sys.exit(1)
print("PASS")
