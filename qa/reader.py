"""The answer model: judges whether a sentence answers a question, and where in it the answer is.

A small cross-encoder trained on SQuAD 1.1 (``training/answer_model.py``; its card is
``qa/answer_model/CARD.md``) reads the question and one candidate sentence together, so it sees
whether the sentence *answers* rather than whether it is *about* the question, which is all a
cosine between two separate vectors can tell. For each pair it gives a score (a logit: above zero
means "answers") and start and end logits over the sentence's tokens, from which the answer span
is read. It runs on onnxruntime with no PyTorch, one thread per call, and its file's sha256 is
checked when it loads.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import ModelError

MODEL_DIR = Path(__file__).resolve().parent / "answer_model"
# The question is cut first when a pair is too long (longest-first), so a sentence keeps its words.
MAX_PAIR_TOKENS = 96
# Answers longer than this many tokens are not spans but sentences: the sentence is the answer.
MAX_ANSWER_TOKENS = 24
_INSTALL = "pip install onnxruntime==1.31.1 tokenizers==0.23.3"


@dataclass(frozen=True)
class Judgement:
    """How well one sentence answers: ``score`` is the model's logit (> 0: answers), and
    ``start``/``end`` the answer's character offsets within the sentence, with the span's own
    logit as ``span_score``. ``selection`` ranks sentences against each other: the logit plus
    the model's ``selection_weight`` times the span's logit (a sentence that holds a confident
    answer to the question beats one that is merely about it)."""

    score: float
    start: int
    end: int
    span_score: float
    selection: float


@dataclass(frozen=True)
class EncodedPairs:
    """A batch of (question, sentence) pairs as the model reads them: token arrays, and for each
    token its character offsets in the sentence, or (-1, -1) when it is not a sentence token."""

    input_ids: np.ndarray[Any, np.dtype[np.int64]]
    attention_mask: np.ndarray[Any, np.dtype[np.int64]]
    token_type_ids: np.ndarray[Any, np.dtype[np.int64]]
    offsets: np.ndarray[Any, np.dtype[np.int64]]  # (pairs, tokens, 2)

    @property
    def in_sentence(self) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """(pairs, tokens): True where the token belongs to the sentence."""
        return np.asarray(self.offsets[:, :, 0] >= 0)


def load_tokenizer(path: str | Path, max_tokens: int = MAX_PAIR_TOKENS) -> Any:
    """The WordPiece tokenizer at ``path`` set to pad to the longest pair and cut at
    ``max_tokens``."""
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ModelError(f"tokenizers is not installed: {_INSTALL}") from exc
    tokenizer: Any = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.enable_padding(length=None)
    tokenizer.enable_truncation(max_tokens, strategy="longest_first")
    return tokenizer


def encode_pairs(tokenizer: Any, question: str, sentences: Sequence[str]) -> EncodedPairs:
    """Encode ``question`` against each sentence: the one encoding training and serving share."""
    encodings = tokenizer.encode_batch([(question, s) for s in sentences])
    n, t = len(encodings), len(encodings[0].ids)
    offsets = np.full((n, t, 2), -1, dtype=np.int64)
    for i, enc in enumerate(encodings):
        for j, (seq, off) in enumerate(zip(enc.sequence_ids, enc.offsets, strict=True)):
            if seq == 1:
                offsets[i, j] = off
    return EncodedPairs(
        input_ids=np.array([e.ids for e in encodings], dtype=np.int64),
        attention_mask=np.array([e.attention_mask for e in encodings], dtype=np.int64),
        token_type_ids=np.array([e.type_ids for e in encodings], dtype=np.int64),
        offsets=offsets,
    )


def best_spans(
    start: np.ndarray[Any, Any],
    end: np.ndarray[Any, Any],
    pairs: EncodedPairs,
    max_tokens: int = MAX_ANSWER_TOKENS,
) -> list[tuple[int, int, float]]:
    """For each pair, the character span (start, end) in its sentence that maximises
    start logit + end logit over sentence tokens i <= j < i + ``max_tokens``, and that sum."""
    inside = pairs.in_sentence
    low = np.finfo(np.float32).min / 4
    s = np.where(inside, start, low)
    e = np.where(inside, end, low)
    t = s.shape[1]
    i, j = np.indices((t, t))
    allowed = (j >= i) & (j - i < max_tokens)
    spans: list[tuple[int, int, float]] = []
    for row in range(s.shape[0]):
        grid = np.where(allowed, s[row][:, None] + e[row][None, :], low)
        a, b = np.unravel_index(int(np.argmax(grid)), grid.shape)
        first, last = pairs.offsets[row, a], pairs.offsets[row, b]
        if first[0] < 0 or last[0] < 0:  # nothing of the sentence survived truncation
            spans.append((0, 0, float(low)))
            continue
        spans.append((int(first[0]), int(last[1]), float(grid[a, b])))
    return spans


def file_sha256(path: str | Path) -> str:
    """The sha256 of the file at ``path``, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class AnswerModel:
    """The answer model on onnxruntime: ``judge(question, sentences)`` scores every sentence.

    ``directory`` holds ``model.onnx``, ``tokenizer.json`` and ``meta.json`` (the model's name
    and the sha256 of both files, checked here: a file that does not match is a ``ModelError``,
    never a wrong answer). ``threads`` is the onnxruntime threads one call uses.
    """

    def __init__(self, directory: str | Path = MODEL_DIR, threads: int = 1) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        directory = Path(directory)
        meta_path = directory / "meta.json"
        if not meta_path.is_file():
            raise ModelError(f"no answer model at {directory}: {meta_path.name} is missing")
        meta = json.loads(meta_path.read_text())
        for name in ("model.onnx", "tokenizer.json"):
            path = directory / name
            if not path.is_file():
                raise ModelError(f"the answer model's {name} is missing from {directory}")
            expected = meta["sha256"][name]
            if file_sha256(path) != expected:
                raise ModelError(
                    f"the answer model's {name} does not match its sha256 in meta.json "
                    f"(expected {expected}): the file is damaged or was replaced"
                )
        try:
            import onnxruntime
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ModelError(f"onnxruntime is not installed: {_INSTALL}") from exc
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session: Any = onnxruntime.InferenceSession(
            str(directory / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = load_tokenizer(directory / "tokenizer.json", meta["max_pair_tokens"])
        self.name: str = meta["name"]
        self.selection_weight = float(meta["selection_weight"])
        self.meta: dict[str, Any] = meta

    def judge(self, question: str, sentences: Sequence[str]) -> list[Judgement]:
        """One judgement per sentence, in order; an empty list for no sentences."""
        if not sentences:
            return []
        pairs = encode_pairs(self._tokenizer, question, sentences)
        score, start, end = self._session.run(
            None,
            {
                "input_ids": pairs.input_ids,
                "attention_mask": pairs.attention_mask,
                "token_type_ids": pairs.token_type_ids,
            },
        )
        spans = best_spans(start, end, pairs)
        return [
            Judgement(float(s), a, b, span, float(s) + self.selection_weight * span)
            for s, (a, b, span) in zip(score.tolist(), spans, strict=True)
        ]
