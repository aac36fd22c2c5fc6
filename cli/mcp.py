"""``qa mcp``: the MCP server on standard input and output, for desktop MCP clients."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from cli.options import data_dir_option, settings_for
from index.errors import CorpusError
from service.services import build_services


@click.command(name="mcp")
@data_dir_option
def mcp(data_dir: Path | None) -> None:
    """Serve the corpus to an MCP client over standard input and output.

    Tools: ask (a quoted answer with citations), search (ranked passages), get_article,
    list_articles; each article is also the resource article://{id}. The client starts this
    command itself; `qa serve` offers the same server over HTTP at /mcp.

    \b
    Example (an MCP client's configuration, e.g. Claude Desktop's):
        {"mcpServers": {"news": {"command": "qa",
                                 "args": ["mcp", "--data-dir", "/srv/qa"]}}}
    """
    import anyio

    from mcp_server.server import serve_stdio

    # Standard output carries the protocol: the log goes to standard error, warnings only.
    logging.getLogger().setLevel(logging.WARNING)
    try:
        services = build_services(settings_for(data_dir))
    except CorpusError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        anyio.run(serve_stdio, services)
    finally:
        services.close()


def register(group: click.Group) -> None:
    """Add ``qa mcp`` to ``group``."""
    group.add_command(mcp)
