"""The ``puretls`` entry point and ``python -m puretls``."""

from __future__ import annotations

import pytest

import puretls
from cli_helpers import run_puretls
from puretls.cli.main import build_parser, main


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "client" in capsys.readouterr().out


def test_version_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert puretls.__version__ in capsys.readouterr().out


def test_parser_knows_every_command() -> None:
    parser = build_parser()
    for argv in (
        ["client", "example.com"],
        ["server", "--echo"],
        ["demo", "--tls1.3"],
        ["selfcheck"],
    ):
        assert callable(parser.parse_args(argv).run)


def test_server_defaults_match_the_documentation() -> None:
    args = build_parser().parse_args(["server"])
    assert (args.host, args.port, args.mode) == ("127.0.0.1", 4433, "http")


def test_python_dash_m_puretls_runs_the_command_line() -> None:
    result = run_puretls("--help")
    assert result.returncode == 0
    assert b"demo" in result.stdout
