"""Options and helpers every `qa` command shares, the product's and the tooling's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from service.settings import Settings

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data directory (database, index, manifest). Default: $QA_DATA_DIR or ./data.",
)

as_of_option = click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The day relative times are read against (YYYY-MM-DD); default today.",
)


work_dir_option = click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".cache/eval"),
    show_default=True,
    help="Where each evaluation dataset's data directory is kept (ingested once, reused).",
)


def settings_for(data_dir: Path | None, **overrides: object) -> Settings:
    settings = Settings()
    changes = {k: v for k, v in {"data_dir": data_dir, **overrides}.items() if v is not None}
    return settings.model_copy(update=changes)


def numbers(text: str, kind: type[int] | type[float], name: str) -> list[Any]:
    """The comma-separated numbers of option ``name``; a usage error when one is not a number."""
    try:
        return [kind(s) for s in text.split(",") if s.strip()]
    except ValueError as exc:
        raise click.BadParameter(
            f"expected comma-separated numbers: {text!r}", param_hint=name
        ) from exc
