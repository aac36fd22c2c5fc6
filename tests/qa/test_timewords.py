"""Time in questions and sentences: the windows they name, read against an anchor day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.models import Filters
from qa.timewords import EmptyPeriod, TimeWindow, join_window, read_time, stated_day

# Monday 7 December 2026.
ANCHOR = date(2026, 12, 7)
D = date.fromisoformat

# (question, from, to): the window each phrasing names on ANCHOR.
PHRASINGS: list[tuple[str, str, str]] = [
    ("What happened today?", "2026-12-07", "2026-12-07"),
    ("What did the minister say this morning?", "2026-12-07", "2026-12-07"),
    ("What did Pakistan say yesterday?", "2026-12-06", "2026-12-06"),
    ("What was decided the day before yesterday?", "2026-12-05", "2026-12-05"),
    ("What did Pakistan say last week?", "2026-11-30", "2026-12-06"),
    ("Who resigned during last week?", "2026-11-30", "2026-12-06"),
    ("What happened this week?", "2026-12-07", "2026-12-07"),
    ("What happened last month?", "2026-11-01", "2026-11-30"),
    ("What changed this month?", "2026-12-01", "2026-12-07"),
    ("Who won the election last year?", "2025-01-01", "2025-12-31"),
    ("What happened this year?", "2026-01-01", "2026-12-07"),
    ("What was agreed earlier this year?", "2026-01-01", "2026-12-07"),
    ("What was agreed earlier this month?", "2026-12-01", "2026-12-07"),
    ("How many were killed in March?", "2026-03-01", "2026-03-31"),
    ("How many were killed in March of this year?", "2026-03-01", "2026-03-31"),
    ("What happened in December?", "2026-12-01", "2026-12-31"),
    ("Who was arrested in January?", "2026-01-01", "2026-01-31"),
    ("What did the court rule in May?", "2026-05-01", "2026-05-31"),
    ("What happened during September?", "2026-09-01", "2026-09-30"),
    ("What was signed in the month of June?", "2026-06-01", "2026-06-30"),
    ("What was reported in Sept?", "2026-09-01", "2026-09-30"),
    ("What happened in March 2024?", "2024-03-01", "2024-03-31"),
    ("What happened in March, 2024?", "2024-03-01", "2024-03-31"),
    ("What happened March 2024?", "2024-03-01", "2024-03-31"),
    ("What happened in 2024?", "2024-01-01", "2024-12-31"),
    ("What was built during 2019?", "2019-01-01", "2019-12-31"),
    ("Which deals were signed in the year 2023?", "2023-01-01", "2023-12-31"),
    ("What has happened since January?", "2026-01-01", "2026-12-07"),
    ("What has changed since 2024?", "2024-01-01", "2026-12-07"),
    ("What has changed since March 2025?", "2025-03-01", "2026-12-07"),
    ("What has happened since the start of October?", "2026-10-01", "2026-12-07"),
    ("What has happened since 5 November?", "2026-11-05", "2026-12-07"),
    ("What happened between May and July?", "2026-05-01", "2026-07-31"),
    ("What happened between November and February?", "2025-11-01", "2026-02-28"),
    ("What happened from March to May 2024?", "2024-03-01", "2024-05-31"),
    ("What happened between 2020 and 2022?", "2020-01-01", "2022-12-31"),
    ("What happened between 1 March and 15 March?", "2026-03-01", "2026-03-15"),
    ("What happened from January until April?", "2026-01-01", "2026-04-30"),
    ("What happened two years ago?", "2024-01-01", "2024-12-31"),
    ("What happened a year ago?", "2025-01-01", "2025-12-31"),
    ("What happened a month ago?", "2026-11-01", "2026-11-30"),
    ("What happened three months ago?", "2026-09-01", "2026-09-30"),
    ("What happened a week ago?", "2026-11-30", "2026-12-06"),
    ("What happened 2 weeks ago?", "2026-11-23", "2026-11-29"),
    ("What happened three days ago?", "2026-12-04", "2026-12-04"),
    ("What happened a couple of days ago?", "2026-12-05", "2026-12-05"),
    ("What happened in the past 3 days?", "2026-12-05", "2026-12-07"),
    ("What happened over the past week?", "2026-12-01", "2026-12-07"),
    ("What happened in the last two weeks?", "2026-11-24", "2026-12-07"),
    ("What happened in the past month?", "2026-11-08", "2026-12-07"),
    ("What happened in the last 30 days?", "2026-11-08", "2026-12-07"),
    ("What happened over the past year?", "2025-12-08", "2026-12-07"),
    ("What happened within the past six months?", "2026-06-08", "2026-12-07"),
    ("What happened on 2024-03-05?", "2024-03-05", "2024-03-05"),
    ("What happened on 5 March 2024?", "2024-03-05", "2024-03-05"),
    ("What happened on March 5, 2024?", "2024-03-05", "2024-03-05"),
    ("What happened on the 5th of March?", "2026-03-05", "2026-03-05"),
    ("What happened on March 5?", "2026-03-05", "2026-03-05"),
    ("What happened on 24 December?", "2025-12-24", "2025-12-24"),
    ("What did the council say on Tuesday?", "2026-12-01", "2026-12-01"),
    ("What did the council say last Monday?", "2026-11-30", "2026-11-30"),
    ("What was said on Monday?", "2026-12-07", "2026-12-07"),
    ("What was said on Friday?", "2026-12-04", "2026-12-04"),
    ("What happened last weekend?", "2026-12-05", "2026-12-06"),
    ("What was in yesterday's statement?", "2026-12-06", "2026-12-06"),
]

EVERGREEN = [
    "What is CPEC?",
    "Who is China's ambassador to Pakistan?",
    "What does CPEC stand for?",
    "How does sourdough rise?",
    "Why do bees lose their way?",
    "May I ask who leads the talks?",
    "Who will march on the capital?",
    "What is the second phase of the corridor?",
    "How many trains run on the new line?",
    "Which year-round ports does the corridor use?",
]


@pytest.mark.parametrize(("question", "start", "end"), PHRASINGS)
def test_each_phrasing_names_its_window(question: str, start: str, end: str) -> None:
    window = read_time(question, ANCHOR).window
    assert window is not None, question
    assert (window.start.isoformat(), window.end.isoformat()) == (start, end)
    assert window.phrase.lower() in question.lower()


def test_the_table_holds_at_least_sixty_phrasings() -> None:
    assert len({q for q, _, _ in PHRASINGS}) >= 60


@pytest.mark.parametrize("question", EVERGREEN)
def test_evergreen_questions_get_no_window(question: str) -> None:
    timed = read_time(question, ANCHOR)
    assert timed.window is None
    assert not timed.latest
    assert timed.topic == question


def test_time_words_are_not_topic_words() -> None:
    timed = read_time("What did Pakistan say about CPEC last week?", ANCHOR)
    assert timed.topic == "What did Pakistan say about CPEC?"


def test_a_month_that_names_an_event_sets_no_window() -> None:
    # Reports of "the March attack" may be published in any later month, or year.
    for question in (
        "How many were killed in the March attack?",
        "Why did half of the reef bleach during the March heatwave?",
    ):
        timed = read_time(question, ANCHOR)
        assert timed.window is None and timed.topic == question


@pytest.mark.parametrize(
    "question",
    [
        "What is the latest on CPEC?",
        "Who is the current ambassador?",
        "Who leads the talks now?",
        "Is the strike still going on?",
        "What is the most recent figure?",
        "How many have died so far?",
    ],
)
def test_latest_words_mark_the_question_and_stay_in_its_text(question: str) -> None:
    timed = read_time(question, ANCHOR)
    assert timed.latest and timed.window is None
    assert timed.topic == question


# -- properties ------------------------------------------------------------------------------

anchors = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31))
_WORDS = [
    "who", "what", "did", "the", "minister", "say", "about", "ports", "corridor", "china",
    "pakistan", "attack", "bread", "rises", "vote", "council", "budget", "how", "many", "why",
    "bees", "train", "line", "opened", "ambassador", "talks", "deal", "signed", "with", "and",
]  # fmt: skip
plain_questions = st.lists(st.sampled_from(_WORDS), min_size=1, max_size=12).map(
    lambda words: " ".join(words).capitalize() + "?"
)
timed_questions = st.sampled_from([q for q, _, _ in PHRASINGS])


@settings(max_examples=300, deadline=None)
@given(question=timed_questions, anchor=anchors)
def test_every_window_runs_forwards(question: str, anchor: date) -> None:
    window = read_time(question, anchor).window
    assert window is None or window.start <= window.end


@settings(max_examples=300, deadline=None)
@given(question=plain_questions, anchor=anchors)
def test_no_window_without_time_words(question: str, anchor: date) -> None:
    timed = read_time(question, anchor)
    assert timed.window is None and not timed.latest and timed.topic == question


RELATIVE = [q for q, _, _ in PHRASINGS if not any(c.isdigit() for c in q)]


@settings(max_examples=200, deadline=None)
@given(
    question=st.sampled_from(["What happened yesterday?", "What happened in the past 3 days?"]),
    anchor=anchors,
    shift=st.integers(min_value=-3000, max_value=3000),
)
def test_the_anchor_moves_day_counted_windows_by_as_much(
    question: str, anchor: date, shift: int
) -> None:
    first = read_time(question, anchor).window
    moved = read_time(question, anchor + timedelta(days=shift)).window
    assert first is not None and moved is not None
    assert moved.start - first.start == timedelta(days=shift)
    assert moved.end - first.end == timedelta(days=shift)


@settings(max_examples=200, deadline=None)
@given(
    question=st.one_of(plain_questions, st.sampled_from(EVERGREEN)),
    anchor=anchors,
    other=anchors,
)
def test_the_anchor_does_not_move_evergreen_questions(
    question: str, anchor: date, other: date
) -> None:
    assert read_time(question, anchor) == read_time(question, other)


@settings(max_examples=200, deadline=None)
@given(question=st.sampled_from(RELATIVE), anchor=anchors)
def test_relative_windows_start_on_or_before_the_anchor(question: str, anchor: date) -> None:
    window = read_time(question, anchor).window
    assert window is not None
    assert window.start <= anchor


# -- joining the filters ----------------------------------------------------------------------


def test_a_window_joins_the_filters_and_the_tighter_bound_wins() -> None:
    window = TimeWindow(D("2025-03-01"), D("2025-03-31"), "in March")
    joined = join_window(Filters(source="Dawn", published_from="2025-03-10"), window)
    assert joined == Filters(source="Dawn", published_from="2025-03-10", published_to="2025-03-31")
    assert join_window(None, window) == Filters(
        published_from="2025-03-01", published_to="2025-03-31"
    )
    assert join_window(Filters(author="X"), None) == Filters(author="X")


def test_a_window_outside_the_filters_is_an_empty_period() -> None:
    window = TimeWindow(D("2023-01-01"), D("2023-12-31"), "in 2023")
    with pytest.raises(EmptyPeriod):
        join_window(Filters(published_from="2024-01-01"), window)


def test_a_window_must_run_forwards() -> None:
    with pytest.raises(ValueError, match="forwards"):
        TimeWindow(D("2025-02-01"), D("2025-01-01"), "x")


# -- days stated in sentences ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "published", "day"),
    [
        ("The minister resigned on Tuesday.", "2024-12-06", "2024-12-03"),
        ("The minister resigned on Friday.", "2024-12-06", "2024-12-06"),
        ("Talks collapsed last Friday.", "2024-12-06", "2024-11-29"),
        ("The wall was opened on 18 June by the mayor.", "2025-06-20", "2025-06-18"),
        ("Work began on 20 December.", "2025-01-10", "2024-12-20"),
        ("The deal was signed on 2024-03-05 in Beijing.", "2025-01-10", "2024-03-05"),
        ("Police said yesterday that two men were held.", "2025-01-10", "2025-01-09"),
        ("The council met today.", "2025-01-10", "2025-01-10"),
    ],
)
def test_a_sentence_states_its_day_against_its_publication(
    sentence: str, published: str, day: str
) -> None:
    assert stated_day(sentence, D(published)) == D(day)


def test_a_sentence_without_a_day_states_none() -> None:
    assert stated_day("The line is due to open in 2027.", D("2025-03-05")) is None
    assert stated_day("Costs rose over the spring.", D("2025-03-05")) is None
