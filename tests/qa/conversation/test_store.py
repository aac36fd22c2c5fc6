"""Conversation storage: turns appended, rated and read back from a real SQLite file and a real
PostgreSQL database; old SQLite files converted when opened."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from qa.conversation import store as store_module
from qa.conversation.models import AnswerRef, CitationRef, Turn, quote_hash
from qa.conversation.schema import SCHEMA_VERSION, turns_table
from qa.conversation.store import ConversationError, ConversationStore

PASSAGE = "Lava flowed toward the town. Residents were evacuated before the eruption."
CITED = CitationRef(
    rank=1,
    article_id="volcano",
    passage_id="volcano:0",
    start=100,
    end=100 + len(PASSAGE),
    score=0.8,
    highlight=(129, 100 + len(PASSAGE)),
    quote_hash=quote_hash(PASSAGE),
)


def turn(question: str, resolved: str | None = None, answered: bool = True) -> Turn:
    answer = AnswerRef(1, 129, CITED.end) if answered else None
    return Turn(question, resolved or question, answered, answer, (CITED,))


def test_store_appends_rates_and_reopens(database_url: str) -> None:
    store = ConversationStore(database_url)
    assert store.append("c1", turn("First?")) == 0
    assert store.append("c1", turn("Second?", answered=False)) == 1
    assert store.append("c2", turn("Other?")) == 0
    store.rate("c1", 1, "down")
    with pytest.raises(ConversationError, match="has no turn 7"):
        store.rate("c1", 7, "up")
    store.close()
    again = ConversationStore(database_url)
    turns = again.turns("c1")
    assert [(t.index, t.turn.question, t.feedback) for t in turns] == [
        (0, "First?", None),
        (1, "Second?", "down"),
    ]
    assert turns[0].turn == turn("First?")
    assert turns[1].turn.answer is None
    assert [(t.conversation_id, t.index) for t in again.rated()] == [("c1", 1)]
    assert again.turns("missing") == []
    again.close()


def test_a_turn_is_stored_as_references_without_text(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.sqlite")
    store.append("c1", turn("What happened to the residents?"))
    store.close()
    with sqlite3.connect(tmp_path / "c.sqlite") as db:
        row = db.execute("SELECT * FROM turns").fetchone()
    assert row[:11] == (
        "c1",
        0,
        "What happened to the residents?",
        "What happened to the residents?",
        1,
        1,  # the answer: the sentence at 129..end of the article cited first
        129,
        CITED.end,
        None,  # no exact answer inside it
        None,
        json.dumps([CITED.as_dict()]),
    )
    assert json.loads(row[10]) == [
        {
            "rank": 1,
            "article_id": "volcano",
            "passage_id": "volcano:0",
            "start": 100,
            "end": CITED.end,
            "score": 0.8,
            "highlight": [129, CITED.end],
            "hash": quote_hash(PASSAGE),
        }
    ]
    assert len(quote_hash(PASSAGE)) == 16


def test_the_last_turn_is_what_the_next_question_reads(database_url: str) -> None:
    store = ConversationStore(database_url)
    assert store.last_turn("c1") is None
    store.append("c1", turn("First?"))
    store.append("c1", turn("Second?", "First? Second?"))
    store.append("c2", turn("Other?"))
    last = store.last_turn("c1")
    assert last is not None and (last.index, last.resolved) == (1, "First? Second?")
    store.close()


def test_concurrent_appends_take_unique_consecutive_indices(database_url: str) -> None:
    store = ConversationStore(database_url)
    conversations = ["shared", "shared", "shared", "own-1", "own-2", "own-3"]
    per_thread = 25
    start = threading.Barrier(len(conversations))
    indices: dict[str, list[int]] = {c: [] for c in conversations}

    def writer(conversation_id: str, name: int) -> None:
        start.wait()
        for i in range(per_thread):
            index = store.append(conversation_id, turn(f"thread {name} question {i}?"))
            indices[conversation_id].append(index)  # list.append is atomic

    threads = [threading.Thread(target=writer, args=(c, n)) for n, c in enumerate(conversations)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(indices["shared"]) == list(range(3 * per_thread))
    for own in ("own-1", "own-2", "own-3"):
        assert indices[own] == list(range(per_thread))
    assert [t.turn.question for t in store.turns("own-2")] == [
        f"thread 4 question {i}?" for i in range(per_thread)
    ]
    store.close()


def test_a_conversation_goes_on_through_another_store_on_the_same_database(
    database_url: str,
) -> None:
    # Two servers behind one load balancer: each question may reach either.
    one, two = ConversationStore(database_url), ConversationStore(database_url)
    assert one.append("shared", turn("First?")) == 0
    last = two.last_turn("shared")
    assert last is not None and last.index == 0
    assert two.append("shared", turn("Second?", "First? Second?")) == 1
    two.rate("shared", 0, "up")
    assert [(t.index, t.turn.question, t.feedback) for t in one.turns("shared")] == [
        (0, "First?", "up"),
        (1, "Second?", None),
    ]
    assert [t.index for t in one.rated()] == [0]
    one.close()
    two.close()


def test_a_store_shares_a_database_with_the_index(database_url: str) -> None:
    from index.store import Database

    index = Database(database_url)
    store = ConversationStore(database_url)
    store.append("c", turn("Both?"))
    with index.transaction() as txn:
        index.log_change(txn, "a")
    assert index.generation == 1 and len(store.turns("c")) == 1
    store.close()
    index.close()


# The first schema, as the previous version wrote it: copies of the cited text in every turn.
FIRST_SCHEMA = """
CREATE TABLE turns (
    conversation_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    question TEXT NOT NULL,
    resolved TEXT NOT NULL,
    answered INTEGER NOT NULL,
    answer TEXT,
    citations TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    feedback TEXT CHECK (feedback IN ('up', 'down')),
    feedback_at TEXT,
    PRIMARY KEY (conversation_id, idx)
);
"""
TITLE = "Volcano erupts in Iceland near Grindavik"
YESTERDAY = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def copy_of(rank: int, highlight: list[int] | None) -> dict[str, object]:
    return {
        "rank": rank,
        "article_id": "volcano",
        "title": TITLE,
        "author": "Ann Lee",
        "outlet": "Nordic Times",
        "published": None,
        "url": None,
        "passage_id": "volcano:0",
        "text": PASSAGE,
        "start": 100,
        "end": 100 + len(PASSAGE),
        "score": 0.8,
        "highlight": highlight,
    }


def on_disk(path: Path) -> bytes:
    """The bytes of a database file and its write-ahead log."""
    wal = Path(f"{path}-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def write_first_schema(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(FIRST_SCHEMA)
    rows = [
        (
            "c1",
            0,
            "Who left?",
            "Who left?",
            1,
            "Residents were evacuated before the eruption. [1]",
            [copy_of(1, [129, 100 + len(PASSAGE)])],
            YESTERDAY,
            "up",
        ),
        (
            "c1",
            1,
            "Why?",
            "Who left? Why?",
            0,
            None,
            [copy_of(1, None)],
            YESTERDAY,
            None,
        ),
        ("c2", 0, "Broken?", "Broken?", 1, "Gone. [1]", "not json", YESTERDAY, None),
    ]
    for cid, idx, question, resolved, answered, answer, citations, created, feedback in rows:
        db.execute(
            "INSERT INTO turns(conversation_id, idx, question, resolved, answered, answer,"
            " citations, created_at, feedback) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                cid,
                idx,
                question,
                resolved,
                answered,
                answer,
                citations if isinstance(citations, str) else json.dumps(citations),
                created,
                feedback,
            ),
        )
    db.commit()
    db.close()


def test_a_file_with_copies_is_converted_to_references_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "conversations.sqlite"
    write_first_schema(path)
    assert PASSAGE.encode() in on_disk(path)

    store = ConversationStore(path)
    first, second = store.turns("c1")
    assert (first.index, first.created_at, first.feedback) == (0, YESTERDAY, "up")
    assert first.turn == Turn(
        "Who left?", "Who left?", True, AnswerRef(1, 129, CITED.end), (CITED,)
    )
    assert second.turn == Turn(
        "Why?",
        "Who left? Why?",
        False,
        None,
        (CitationRef(**{**CITED.__dict__, "highlight": None}),),
    )
    # Copies that cannot be read: the user's words stay, the answer cannot be quoted any more.
    [broken] = store.turns("c2")
    assert broken.turn == Turn("Broken?", "Broken?", True, None, ())
    assert store.append("c1", turn("Next?")) == 2
    store.close()

    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        assert sorted(tables) == ["alembic_version_conversations", "turns"]
        columns = [r[1] for r in db.execute("PRAGMA table_info(turns)")]
        assert "answer" not in columns
    stored = on_disk(path)
    for words in (PASSAGE, TITLE, "Residents were evacuated", "Nordic Times"):
        assert words.encode() not in stored
    assert b"Who left? Why?" in stored  # the user's words stay

    again = ConversationStore(path)  # opening a converted file changes nothing
    assert [t.turn for t in again.turns("c1")][:2] == [first.turn, second.turn]
    again.close()


def test_a_conversation_keeps_its_last_turns_and_their_indices(database_url: str) -> None:
    store = ConversationStore(database_url, max_turns=3)
    for i in range(5):
        assert store.append("long", turn(f"Question {i}?")) == i
    store.append("short", turn("Only?"))
    assert [t.index for t in store.turns("long")] == [2, 3, 4]
    assert [t.turn.question for t in store.turns("short")] == ["Only?"]
    assert store.append("long", turn("Question 5?")) == 5  # numbering goes on
    store.rate("long", 4, "up")  # feedback names turns by index, as before
    with pytest.raises(ConversationError, match="has no turn 1"):
        store.rate("long", 1, "up")
    store.close()


def age(path: Path, conversation_id: str, days: int) -> None:
    """Make a conversation's turns ``days`` old, as if asked then."""
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE turns SET created_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', ?)"
            " WHERE conversation_id = ?",
            (f"-{days} days", conversation_id),
        )
    db.close()


def test_turns_older_than_the_age_limit_are_deleted_by_a_periodic_sweep(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    store = ConversationStore(path, max_age_days=30)
    store.append("old", turn("Asked long ago?"))
    store.append("recent", turn("Asked last week?"))
    age(path, "old", 31)
    age(path, "recent", 7)
    store.append("new", turn("Asked now?"))
    # The sweep runs when the store opens and then every few minutes, not on every append.
    assert len(store.turns("old")) == 1
    store.close()

    reopened = ConversationStore(path, max_age_days=30)
    assert reopened.turns("old") == []
    assert [len(reopened.turns(c)) for c in ("recent", "new")] == [1, 1]
    reopened.close()

    eager = ConversationStore(path, max_age_days=5, sweep_interval=0)
    assert eager.turns("recent") == []  # swept at open
    age(path, "new", 6)
    eager.append("other", turn("Another?"))
    assert eager.turns("new") == []
    assert [t.turn.question for t in eager.turns("other")] == ["Another?"]
    assert eager.sweep() == 0
    eager.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM turns").fetchone()[0] == 1
    db.close()


def test_retention_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="max_turns must be at least 1, got 0"):
        ConversationStore(Path("unused.sqlite"), max_turns=0)
    with pytest.raises(ValueError, match="max_age_days must be positive"):
        ConversationStore(Path("unused.sqlite"), max_age_days=0)


def test_a_conversion_that_fails_leaves_the_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "conversations.sqlite"
    write_first_schema(path)
    converted = store_module._references_from_copies
    calls = []

    def fail_on_the_second_turn(citations: str, answer: str | None) -> object:
        calls.append(answer)
        if len(calls) == 2:
            raise OSError("disk went away")
        return converted(citations, answer)

    monkeypatch.setattr(store_module, "_references_from_copies", fail_on_the_second_turn)
    with pytest.raises(OSError, match="disk went away"):
        ConversationStore(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM turns WHERE answer IS NOT NULL").fetchone() == (2,)
    db.close()
    monkeypatch.undo()
    store = ConversationStore(path)
    assert len(store.turns("c1")) == 2
    store.close()


def test_a_file_of_the_second_schema_gains_the_answer_span_columns(tmp_path: Path) -> None:
    path = tmp_path / "conversations.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE turns (conversation_id TEXT NOT NULL, idx INTEGER NOT NULL,"
            " question TEXT NOT NULL, resolved TEXT NOT NULL, answered INTEGER NOT NULL,"
            " answer_rank INTEGER, answer_start INTEGER, answer_end INTEGER,"
            " citations TEXT NOT NULL, created_at TEXT NOT NULL DEFAULT"
            " (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')), feedback TEXT, feedback_at TEXT,"
            " PRIMARY KEY (conversation_id, idx))"
        )
        db.execute(
            "INSERT INTO turns(conversation_id, idx, question, resolved, answered, answer_rank,"
            " answer_start, answer_end, citations) VALUES ('c', 0, 'Who left?', 'Who left?', 1,"
            " 1, 129, ?, ?)",
            (CITED.end, json.dumps([CITED.as_dict()])),
        )
        db.execute("PRAGMA user_version = 2")
    db.close()
    store = ConversationStore(path)
    [old] = store.turns("c")
    assert old.turn.answer == AnswerRef(1, 129, CITED.end)  # no span: it was never stored
    spanned = Turn("Who?", "Who?", True, AnswerRef(1, 129, CITED.end, (129, 135)), (CITED,))
    assert store.append("c", spanned) == 1
    assert store.turns("c")[1].turn == spanned
    store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    db.close()


def test_a_file_written_before_migrations_opens_with_its_turns(tmp_path: Path) -> None:
    path = tmp_path / "conversations.sqlite"
    store = ConversationStore(path)
    store.append("c", turn("Kept?"))
    store.close()
    with sqlite3.connect(path) as db:  # as the previous version left it: no Alembic table
        db.execute("DROP TABLE alembic_version_conversations")
    db.close()
    again = ConversationStore(path)
    assert [t.turn.question for t in again.turns("c")] == ["Kept?"]
    assert again.append("c", turn("Next?")) == 1
    again.close()


def test_storage_has_a_total_budget_and_the_oldest_turns_go_first(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.sqlite", max_total_turns=20)
    for i in range(10):
        store.append(f"old{i}", turn(f"Old {i}?"))
    # Age the first ten turns by an hour: they are the oldest, whatever their ids.
    with store.engine.begin() as conn:
        conn.execute(turns_table.update().values(created_at="2000-01-01T00:00:00Z"))
    for i in range(1000):  # a client starting a new conversation with every question
        store.append(f"new{i:04d}", turn(f"New {i}?"))
    total = store.total_turns()
    assert total <= 20 + store.check_every, total
    assert all(store.turns(f"old{i}") == [] for i in range(10))
    assert store.turns("new0999") != []
    store.close()


def test_conversation_ids_carry_128_random_bits() -> None:
    ids = [ConversationStore.new_id() for _ in range(200)]
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    # uuid4().hex fixes six of its bits: the version digit is always 4 and the next but three
    # is one of 8, 9, a, b. Random bits take every value.
    assert len({i[12] for i in ids}) > 1
    assert {i[16] for i in ids} - set("89ab")
