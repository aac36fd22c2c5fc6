"""Time in a question, or in an article's sentence, resolved against an anchor day.

A question that names a period ("last week", "in March", "since January", "between May and
July", "two years ago", "2024-03-05") gets a ``TimeWindow`` of publication days; words such as
"latest", "current", "now" and "still" mark it as asking for the newest word on a story. The
period's words are taken out of the text retrieval uses, so they do not count as topic words
(the latest words stay: "still shut" is answered by a sentence about whether it still is).

Conventions, all relative to the anchor (the request's ``as_of``, default the server's today):
weeks run Monday to Sunday, "last week/month/year" is the calendar period before the anchor's,
"this week/month/year" runs from its first day to the anchor, "the past N days/weeks/..." are the
N units ending on the anchor, "N weeks ago" is the calendar week holding the day N weeks back,
and a month or day without a year is the latest one not after the anchor. A month that
names an event ("the March attack", "the March heatwave") sets no window: reports of it may
come from any later month, or year, and the words stay topic words. Days written out
("5 March 2024", "March 5") are read by ``dateparser``; the periods by the rules here.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from qa.models import Filters


@dataclass(frozen=True)
class TimeWindow:
    """Publication days ``[start, end]``, inclusive, and the words they were read from."""

    start: date
    end: date
    phrase: str  # as the question wrote it, e.g. "last week"

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError(f"a time window runs forwards, got {self.start} to {self.end}")


@dataclass(frozen=True)
class TimeQuestion:
    """What a question says about time: its window, whether it asks for the newest word, and
    its text with the period's words taken out (what retrieval reads)."""

    window: TimeWindow | None
    latest: bool
    topic: str


class EmptyPeriod(ValueError):
    """A question's period and the request's date filters have no day in common."""


def join_window(filters: Filters | None, window: TimeWindow | None) -> Filters | None:
    """``filters`` narrowed to ``window``'s days (the tighter bound wins on each side).

    Raises ``EmptyPeriod`` when no day is left."""
    if window is None:
        return filters
    filters = filters or Filters()
    start, end = window.start.isoformat(), window.end.isoformat()
    low = max(start, filters.published_from) if filters.published_from else start
    high = min(end, filters.published_to) if filters.published_to else end
    if low > high:
        raise EmptyPeriod(f"no day is both in {start} to {end} and in the date filters")
    return Filters(filters.article_ids, filters.source, filters.author, low, high)


# -- the words -----------------------------------------------------------------------------

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({"jan": 1, "feb": 2, "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11})
_MONTHS["dec"] = 12
_WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}
_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "a couple of": 2, "a few": 3, "several": 3,
}  # fmt: skip
_UNITS = r"(?P<unit>day|week|month|year)s?"

MONTH = r"(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
WEEKDAY = r"(?:" + "|".join(_WEEKDAYS) + r")"
YEAR = r"(?:19|20)\d{2}"
_ORD = r"(?:st|nd|rd|th)?"
# One day written out: ISO, "5 March [2024]", "5th of March", "March 5[, 2024]".
DAY = (
    rf"(?:\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}{_ORD}\s+(?:of\s+)?{MONTH}(?:,?\s+{YEAR})?"
    rf"|{MONTH}\s+\d{{1,2}}{_ORD}(?:,?\s+{YEAR})?)"
)
# A period a "between/from/since" may start or end with: a day, a month, or a year.
POINT = rf"(?:{DAY}|{MONTH}(?:\s+{YEAR})?|{YEAR})"
_NUMBER = r"(?P<n>\d{1,3}|a couple of|a few|several|" + "|".join(_NUMBERS) + r")"

LATEST = re.compile(
    r"\b(?:the\s+)?(?:latest|most\s+recent(?:ly)?|newest|current(?:ly)?|right\s+now|now|still"
    r"|at\s+present|presently|so\s+far|to\s+date|as\s+of\s+now|recent(?:ly)?|lately"
    r"|up\s+to\s+date)\b",
    re.IGNORECASE,
)


def _month_range(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _week_range(day: date) -> tuple[date, date]:
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def _back(anchor: date, n: int, unit: str) -> date:
    """The day ``n`` units before ``anchor`` (a month back from 31 March is 28/29 February)."""
    if unit == "day":
        return anchor - timedelta(days=n)
    if unit == "week":
        return anchor - timedelta(weeks=n)
    months = anchor.year * 12 + anchor.month - 1 - (n if unit == "month" else 12 * n)
    year, month = divmod(months, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(anchor.day, last))


def _unit_range(day: date, unit: str) -> tuple[date, date]:
    """The calendar day, week, month or year that holds ``day``."""
    if unit == "day":
        return day, day
    if unit == "week":
        return _week_range(day)
    if unit == "month":
        return _month_range(day.year, day.month)
    return date(day.year, 1, 1), date(day.year, 12, 31)


def _number(text: str) -> int:
    text = " ".join(text.lower().split())
    return int(text) if text.isdigit() else _NUMBERS[text]


def _latest_month(month: int, anchor: date) -> int:
    """The year of the latest ``month`` that starts on or before ``anchor``."""
    return anchor.year if month <= anchor.month else anchor.year - 1


def _weekday_before(weekday: int, anchor: date, strictly: bool = False) -> date:
    back = (anchor.weekday() - weekday) % 7
    if strictly and back == 0:
        back = 7
    return anchor - timedelta(days=back)


@lru_cache(maxsize=1)
def _dateparser() -> Callable[..., datetime | None]:
    # Loading dateparser's language data takes a moment: only a question that writes out a
    # day pays for it.
    import dateparser

    parse: Callable[..., datetime | None] = dateparser.parse
    return parse


def parse_day(text: str, anchor: date) -> date | None:
    """One day written out ("5 March 2024", "March 5", "2024-03-05"), a year-less one being
    the latest not after ``anchor``; None when ``text`` is not one."""
    text = " ".join(text.split())
    settings = {
        "RELATIVE_BASE": datetime(anchor.year, anchor.month, anchor.day),
        "PREFER_DATES_FROM": "past",
        "REQUIRE_PARTS": ["day", "month"],
        "STRICT_PARSING": False,
    }
    try:
        found = _dateparser()(text, languages=["en"], settings=settings)
    except (ValueError, OverflowError):
        return None
    return None if found is None else found.date()


def _point(text: str, anchor: date) -> tuple[date, date] | None:
    """The days of a day, a month (with or without its year) or a year."""
    text = " ".join(text.lower().replace(",", " ").split())
    if re.fullmatch(YEAR, text):
        return date(int(text), 1, 1), date(int(text), 12, 31)
    month = re.fullmatch(rf"({MONTH})(?:\s+({YEAR}))?", text)
    if month:
        m = _MONTHS[month.group(1).rstrip(".")]
        return _month_range(int(month.group(2)) if month.group(2) else _latest_month(m, anchor), m)
    day = parse_day(text, anchor)
    return None if day is None else (day, day)


# -- the rules: each reads a match into the days it names ------------------------------------

Resolver = Callable[[re.Match[str], date], tuple[date, date] | None]


def _between(m: re.Match[str], anchor: date) -> tuple[date, date] | None:
    last = _point(m.group("b"), anchor)
    # A first point without its year is the latest one not after the second: "between
    # November and February" is the November before that February.
    first = None if last is None else _point(m.group("a"), min(anchor, last[1]))
    if first is None or last is None:
        return None
    return first[0], last[1]


def _since(m: re.Match[str], anchor: date) -> tuple[date, date] | None:
    point = _point(m.group("a"), anchor)
    return None if point is None or point[0] > anchor else (point[0], anchor)


def _at(m: re.Match[str], anchor: date) -> tuple[date, date] | None:
    return _point(m.group("a"), anchor)


def _ago(m: re.Match[str], anchor: date) -> tuple[date, date]:
    return _unit_range(
        _back(anchor, _number(m.group("n")), m.group("unit").lower()), m.group("unit").lower()
    )


def _past(m: re.Match[str], anchor: date) -> tuple[date, date]:
    n = _number(m.group("n")) if m.group("n") else 1
    return _back(anchor, n, m.group("unit").lower()) + timedelta(days=1), anchor


def _last(m: re.Match[str], anchor: date) -> tuple[date, date]:
    unit = m.group("unit").lower()
    return _unit_range(_back(anchor, 1, unit), unit)


def _this(m: re.Match[str], anchor: date) -> tuple[date, date]:
    return _unit_range(anchor, m.group("unit").lower())[0], anchor


def _weekday(m: re.Match[str], anchor: date) -> tuple[date, date]:
    strictly = (m.group("last") or "").lower() == "last"
    day = _weekday_before(_WEEKDAYS[m.group("wd").lower()], anchor, strictly)
    return day, day


def _weekend(m: re.Match[str], anchor: date) -> tuple[date, date]:
    saturday = _weekday_before(5, anchor - timedelta(days=1))
    return saturday, saturday + timedelta(days=1)


def _days_back(n: int) -> Resolver:
    def resolve(m: re.Match[str], anchor: date) -> tuple[date, date]:
        day = anchor - timedelta(days=n)
        return day, day

    return resolve


_B = r"\b"
_IN = r"(?:in|during|of|throughout|for)\s+"
_RULES: list[tuple[str, Resolver]] = [
    (
        rf"{_B}(?:between|from)\s+(?:the\s+)?(?P<a>{POINT})"
        rf"\s+(?:and|to|until|till|through)\s+(?:the\s+)?(?P<b>{POINT}){_B}",
        _between,
    ),
    (
        rf"{_B}(?:since|from)\s+(?:the\s+)?(?:(?:start|beginning)\s+of\s+)?(?P<a>{POINT}){_B}",
        _since,
    ),
    (rf"{_B}(?:(?:in|on|during|of|throughout|for)\s+(?:the\s+)?)?(?P<a>{DAY}){_B}", _at),
    (rf"{_B}{_IN}(?:the\s+month\s+of\s+)?(?P<a>{MONTH}(?:,?\s+{YEAR})?){_B}", _at),
    (rf"{_B}(?:in\s+)?(?P<a>{MONTH},?\s+{YEAR}){_B}", _at),
    (rf"{_B}{_IN}(?:the\s+year\s+)?(?P<a>{YEAR}){_B}", _at),
    (rf"{_B}the\s+day\s+before\s+yesterday{_B}", _days_back(2)),
    (rf"{_B}yesterday(?:'s)?{_B}", _days_back(1)),
    (rf"{_B}(?:today(?:'s)?|this\s+(?:morning|afternoon|evening)|tonight){_B}", _days_back(0)),
    (rf"{_B}(?:about\s+|roughly\s+)?{_NUMBER}\s+{_UNITS}\s+ago{_B}", _ago),
    # "last week" is the calendar week before; "the past week", "the last two weeks" end today
    (rf"{_B}(?:in\s+|during\s+|over\s+)?(?:the\s+)?last\s+{_UNITS}{_B}", _last),
    (
        rf"{_B}(?:in\s+|over\s+|during\s+|within\s+)?(?:the\s+)?(?:past|last|previous)\s+"
        rf"(?:{_NUMBER}\s+)?{_UNITS}{_B}",
        _past,
    ),
    (rf"{_B}(?:earlier\s+|in\s+|during\s+|over\s+)?this\s+{_UNITS}{_B}", _this),
    (
        rf"{_B}(?:on\s+)?(?:(?P<last>last|this\s+past|past)\s+)?(?P<wd>{WEEKDAY})(?:'s)?{_B}",
        _weekday,
    ),
    (rf"{_B}(?:over\s+|at\s+|on\s+)?(?:the\s+)?last\s+weekend{_B}", _weekend),
]
RULES: list[tuple[re.Pattern[str], Resolver]] = [
    (re.compile(pattern, re.IGNORECASE), resolve) for pattern, resolve in _RULES
]


def _tidy(text: str) -> str:
    return re.sub(r"\s+([?.!,])", r"\1", " ".join(text.split()))


def read_time(question: str, anchor: date) -> TimeQuestion:
    """The window ``question`` names, resolved against ``anchor``, whether it asks for the
    latest word, and its text without those words. The first rule (most specific first) that
    finds a period decides the window; "last week" does not also count as "last"."""
    taken: list[tuple[int, int]] = []
    window: TimeWindow | None = None
    for pattern, resolve in RULES:
        for match in pattern.finditer(question):
            if any(match.start() < e and s < match.end() for s, e in taken):
                continue
            days = resolve(match, anchor)
            if days is None or days[0] > days[1]:
                continue
            taken.append(match.span())
            if window is None:
                window = TimeWindow(days[0], days[1], " ".join(match.group(0).split()))
    # The latest words stay in the text: "Is the road still shut?" wants the sentence that
    # says whether it still is, and they name no period to filter by.
    latest = any(
        not any(m.start() < e and s < m.end() for s, e in taken) for m in LATEST.finditer(question)
    )
    topic = question
    for start, end in sorted(taken, reverse=True):
        topic = topic[:start] + " " + topic[end:]
    topic = _tidy(topic)
    return TimeQuestion(window, latest, topic if re.search(r"\w", topic) else question)


def _written_day(m: re.Match[str], published: date) -> tuple[date, date] | None:
    # A day without its year up to a month after publication is that coming day (a plan: "will
    # reopen on 20 December"), not the one a year before; further on, the latest past one.
    if re.search(YEAR, m.group("a")):
        return _at(m, published)
    return _at(m, published + timedelta(days=31))


_STATED: list[tuple[re.Pattern[str], Resolver]] = [
    (re.compile(rf"{_B}(?P<a>{DAY}){_B}", re.IGNORECASE), _written_day),
    (re.compile(rf"{_B}the\s+day\s+before\s+yesterday{_B}", re.IGNORECASE), _days_back(2)),
    (re.compile(rf"{_B}yesterday{_B}", re.IGNORECASE), _days_back(1)),
    (re.compile(rf"{_B}(?:today|this\s+morning|tonight){_B}", re.IGNORECASE), _days_back(0)),
    (
        re.compile(rf"{_B}(?:on\s+)?(?:(?P<last>last)\s+)?(?P<wd>{WEEKDAY}){_B}", re.IGNORECASE),
        _weekday,
    ),
]


def stated_day(sentence: str, published: date) -> date | None:
    """The day a sentence names, read against its article's publication day ("on Tuesday" in
    an article of Friday 6 December is 3 December; "on 20 December" there is the coming one),
    or None when it states no single day. The first day-level expression found wins; the day
    may fall after publication (a plan)."""
    found: list[tuple[int, date]] = []
    for pattern, resolve in _STATED:
        match = pattern.search(sentence)
        if match is not None:
            days = resolve(match, published)
            if days is not None and days[0] == days[1]:
                found.append((match.start(), days[0]))
    return min(found)[1] if found else None
