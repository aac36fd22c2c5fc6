"""The question encoder: int8 ONNX beside the PyTorch model, and the pair that splits the work."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from index.background import Loading, ModelLoadError
from index.corpus import MANIFEST_FILE, Corpus
from index.embed import DeferredEmbedder, Embedder, SplitEmbedder
from service.services import load_embedder
from service.settings import Settings
from tests.fakes import FakeEmbedder

QUESTIONS = [
    "What did the Chinese ambassador say about the attacks?",
    "When was the China-Pakistan Economic Corridor launched?",
    "Who is Pakistan's foreign minister?",
]
LONG = " ".join(
    f"Sentence {i} of a long report on the harbour, the rail strike and the wheat harvest."
    for i in range(30)
)  # over 256 tokens


class OtherModel(FakeEmbedder):
    name = "other-model"


def test_the_split_embedder_embeds_passages_and_questions_with_each_encoder() -> None:
    passages, queries = FakeEmbedder(), FakeEmbedder()
    queries.name = "fake-bag-of-words-int8"
    queries.model = "fake-bag-of-words"  # type: ignore[attr-defined]
    split = SplitEmbedder(passages, queries)
    assert isinstance(split, Embedder)
    assert (split.name, split.query_name, split.dimension) == (
        "fake-bag-of-words",
        "fake-bag-of-words-int8",
        64,
    )
    split.embed_passages(["a harbour"])
    split.embed_query("the harbour")
    assert (passages.calls, queries.calls) == (1, 1)


def test_a_question_encoder_of_another_model_is_refused() -> None:
    with pytest.raises(ValueError, match="must be encoded by the model that embedded"):
        SplitEmbedder(FakeEmbedder(), OtherModel())


def test_the_manifest_records_the_question_encoder(tmp_path: Path) -> None:
    corpus = Corpus(tmp_path, "fake-bag-of-words", 64, refresh_seconds=0, query_model="fake-int8")
    corpus.add_articles([], FakeEmbedder())
    corpus.checkpoint()
    manifest = corpus.read_manifest()
    corpus.close()
    assert manifest is not None
    assert (manifest["model"], manifest["query_model"]) == ("fake-bag-of-words", "fake-int8")
    assert (tmp_path / MANIFEST_FILE).exists()


def test_int8_needs_the_packaged_model(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="QA_QUERY_ENCODER=fp32"):
        Settings(data_dir=tmp_path, model_path=str(tmp_path), query_encoder="int8")
    # auto reads another model's questions with that model
    assert Settings(data_dir=tmp_path, model_path=str(tmp_path)).query_encoder == "auto"


@pytest.fixture(scope="module")
def int8() -> Embedder:
    from index.onnx_embed import OnnxEmbedder

    return OnnxEmbedder(threads=1)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray((a * b).sum(axis=1))


@pytest.mark.slow
def test_int8_vectors_agree_with_the_pytorch_model(int8: Embedder, real_embedder: Embedder) -> None:
    texts = [*QUESTIONS, LONG]
    mine = np.stack([int8.embed_query(t) for t in texts])
    theirs = real_embedder.embed_passages(texts)
    assert mine.shape == (len(texts), 384)
    np.testing.assert_allclose(np.linalg.norm(mine, axis=1), 1.0, atol=1e-5)
    # The long text agrees too: both read its first 256 tokens, not 128.
    assert cosines(mine, theirs).min() > 0.99


@pytest.mark.slow
def test_int8_reads_past_128_tokens_and_pads_a_batch_without_changing_a_vector(
    int8: Embedder,
) -> None:
    words = LONG.split()
    head = " ".join(words[:90])  # about 128 tokens
    assert float(int8.embed_query(LONG) @ int8.embed_query(head)) < 0.999
    alone = int8.embed_query(QUESTIONS[0])
    batched = int8.embed_passages([LONG, QUESTIONS[0]])
    assert float(batched[1] @ alone) > 0.9999


@pytest.mark.slow
def test_the_default_settings_encode_questions_as_int8(tmp_path: Path) -> None:
    embedder = load_embedder(Settings(data_dir=tmp_path))
    assert isinstance(embedder, SplitEmbedder)
    assert (embedder.name, embedder.query_name) == ("all-MiniLM-L6-v2", "all-MiniLM-L6-v2-int8")
    fp32 = load_embedder(Settings(data_dir=tmp_path, query_encoder="fp32"))
    assert not isinstance(fp32, SplitEmbedder) and fp32.name == "all-MiniLM-L6-v2"


def test_a_deferred_embedder_answers_once_its_model_has_loaded() -> None:
    gate = threading.Event()

    def load() -> Embedder:
        gate.wait(5)
        return FakeEmbedder()

    loading: Loading[Embedder] = Loading(load, "the fake model")
    deferred = DeferredEmbedder(loading, "fake-bag-of-words", 64)
    assert (deferred.name, deferred.dimension, loading.ready) == ("fake-bag-of-words", 64, False)
    gate.set()
    vectors = deferred.embed_passages(["harbour cranes", "rail strike"])
    assert vectors.shape == (2, 64) and loading.ready


def test_a_model_that_fails_to_load_is_an_error_on_use_not_a_lost_thread() -> None:
    def broken() -> Embedder:
        raise OSError("no weights in /nowhere")

    deferred = DeferredEmbedder(Loading(broken, "the passage model"), "fake-bag-of-words", 64)
    with pytest.raises(ModelLoadError, match="the passage model could not be loaded: no weights"):
        deferred.embed_passages(["text"])
    wrong = DeferredEmbedder(Loading(FakeEmbedder, "the fake model"), "fake-bag-of-words", 32)
    with pytest.raises(ValueError, match="dimension 64, not the expected 32"):
        wrong.embed_query("text")
