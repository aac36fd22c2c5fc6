"""`qa bench-peer` is listed, and its help carries its manual and an example."""

from __future__ import annotations

from click.testing import CliRunner

from cli.main import cli


def test_bench_peer_help_names_what_it_measures_and_how_to_install_the_peer() -> None:
    result = CliRunner().invoke(cli, ["bench-peer", "--help"])
    assert result.exit_code == 0
    assert "txtai" in result.output
    assert "qa bench-peer --articles 500" in result.output
    assert ".[peer]" in result.output


def test_bench_peer_rejects_a_pool_too_small_for_ten_abstracts() -> None:
    result = CliRunner().invoke(cli, ["bench-peer", "--pool", "5"])
    assert result.exit_code == 2
    assert "--pool" in result.output
