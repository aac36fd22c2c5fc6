"""Syndicated copies are one story; a story on the same subject is not."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine

from index.engine import open_engine, sqlite_url
from index.store import Database
from index.stories import StoryIndex, shingles, signature
from tests.stories import COPIES, SAME_SUBJECT


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    db = Database(sqlite_url(tmp_path / "corpus.sqlite"))  # runs the migrations
    db.close()
    return open_engine(sqlite_url(tmp_path / "corpus.sqlite"))


def test_three_outlets_copies_are_one_story_and_a_same_subject_story_is_not(
    engine: Engine,
) -> None:
    stories = StoryIndex(engine)
    assigned = stories.assign([*COPIES, SAME_SUBJECT])
    assert {assigned[a.id] for a in COPIES} == {COPIES[0].id}
    assert assigned[SAME_SUBJECT.id] == SAME_SUBJECT.id
    assert stories.copies([COPIES[0].id]) == {COPIES[0].id: sorted(a.id for a in COPIES[1:])}


def test_copies_arriving_one_at_a_time_join_the_first_ones_story(engine: Engine) -> None:
    stories = StoryIndex(engine)
    for article in [COPIES[1], SAME_SUBJECT, COPIES[2], COPIES[0]]:
        stories.assign([article])
    assert set(StoryIndex(engine).stories([a.id for a in COPIES]).values()) == {COPIES[1].id}


def test_an_article_updated_in_place_is_not_a_copy_of_itself(engine: Engine) -> None:
    stories = StoryIndex(engine)
    stories.assign([SAME_SUBJECT])
    updated = replace(SAME_SUBJECT, text=SAME_SUBJECT.text + "\n\nA correction was added.")
    assert stories.assign([updated]) == {SAME_SUBJECT.id: SAME_SUBJECT.id}
    assert stories.copies([SAME_SUBJECT.id]) == {SAME_SUBJECT.id: []}


def test_the_containment_of_a_trimmed_copy_is_high_and_of_a_same_subject_story_low() -> None:
    full, trimmed = signature(COPIES[0]), signature(COPIES[1])
    assert trimmed.containment(full) > 0.8
    assert signature(SAME_SUBJECT).containment(full) < 0.1
    assert len(shingles(COPIES[1].text)) < len(shingles(COPIES[0].text))
