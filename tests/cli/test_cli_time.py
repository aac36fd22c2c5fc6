"""`qa ask` reports the period a question names; `qa timeline` lists dated events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.schemas import TimeWindowOut
from cli.main import cli
from cli.output import window_line
from tests.qa.test_time_answers import DATED
from tests.qa.test_timeline import FIRE


def test_the_window_line_names_the_days_and_the_words() -> None:
    week = TimeWindowOut(from_="2025-04-07", to="2025-04-13", from_question="last week")
    assert window_line(week) == "Articles published 2025-04-07 to 2025-04-13 (last week)"
    day = TimeWindowOut(from_="2025-04-15", to="2025-04-15", from_question="yesterday")
    assert window_line(day) == "Articles published 2025-04-15 (yesterday)"
    none = TimeWindowOut(
        from_="2023-01-01", to="2023-12-31", from_question="in 2023", matched=False
    )
    assert window_line(none) == (
        "No articles published 2023-01-01 to 2023-12-31 (in 2023): answered from every date"
    )


@pytest.mark.slow
@pytest.mark.model
def test_ask_and_timeline_through_the_command_line(tmp_path: Path) -> None:
    articles = tmp_path / "articles.jsonl"
    articles.write_text(
        "".join(
            json.dumps({"id": a.id, "title": a.title, "text": a.text, "published": a.published})
            + "\n"
            for a in [*DATED, *FIRE]
            if a.published
        )
    )
    data = str(tmp_path / "data")
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest", "--data-dir", data, str(articles)]).exit_code == 0
    asked = runner.invoke(
        cli,
        [
            "ask",
            "--data-dir",
            data,
            "--as-of",
            "2025-04-16",
            "What were dockers offered last week?",
        ],
    )
    assert asked.exit_code == 0, asked.output
    assert asked.output.splitlines()[0] == (
        "Articles published 2025-04-07 to 2025-04-13 (last week)"
    )
    as_json = runner.invoke(
        cli, ["ask", "--data-dir", data, "--json", "--as-of", "2025-04-16", "Offers in 2023?"]
    )
    body = json.loads(as_json.output)
    assert body["time_window"]["from"] == "2023-01-01"
    assert body["time_window"]["matched"] is False
    timeline = runner.invoke(
        cli, ["timeline", "--data-dir", data, "timeline of the Caskell factory fire"]
    )
    assert timeline.exit_code == 0, timeline.output
    assert timeline.output.splitlines()[0].startswith("2024-12-03  The Caskell factory fire")
