"""``qa timeline``: dated events about a subject, as GET /api/timeline gives them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from api.timeline_schemas import TimelineResponse
from cli.options import as_of_option, data_dir_option, settings_for
from cli.output import printable, printable_json, window_line
from index.errors import CorpusError
from qa.errors import QuestionError
from qa.timeline import MAX_EVENTS, build_timeline
from service.services import build_services


@click.command()
@click.argument("query")
@data_dir_option
@click.option("-n", "--limit", default=MAX_EVENTS, show_default=True, help="Most events shown.")
@click.option("--json", "as_json", is_flag=True, help="Print the same JSON as GET /api/timeline.")
@as_of_option
def timeline(
    query: str, data_dir: Path | None, limit: int, as_json: bool, as_of: datetime | None
) -> None:
    """Dated events about a subject, oldest first, each with its sentence and citation.

    An event is dated by the day its sentence states ("on Tuesday", read against its
    article's publication day) or else by its article's publication day.

    \b
    Example:
        qa timeline "the Pellinport dock strike"
        qa timeline --json "timeline of the Corvalene recall"
    """
    try:
        services = build_services(settings_for(data_dir))
    except CorpusError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        found = build_timeline(
            services.answerer, query, as_of=as_of.date() if as_of else None, limit=limit
        )
    except QuestionError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        services.close()
    response = TimelineResponse.of(found)
    if as_json:
        click.echo(printable_json(response.model_dump_json(indent=2)))
        return
    if response.time_window is not None:
        click.echo(window_line(response.time_window))
    if response.refusal is not None:
        click.echo(f"No events: {response.refusal}.")
    elif not response.events:
        click.echo("No dated events about that in the articles.")
    for e in response.events:
        how = "" if e.provenance == "stated" else " (published)"
        click.echo(f"{e.date}{how}  {printable(e.sentence, multiline=True)}")
        also = f", also in {len(e.also)} more" if e.also else ""
        click.echo(f"    {printable(e.article_id)} chars {e.start}-{e.end}{also}")
