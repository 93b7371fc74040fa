"""What is published stays true: the exit-code table and the command reference in README.md."""

from __future__ import annotations

import re

from mlproj.errors import EXIT_CODES
from tests.conftest import REPO

README = (REPO / "README.md").read_text()


def test_exit_code_table_matches_the_code():
    block = README.split("<!-- exit-codes:start -->")[1].split("<!-- exit-codes:end -->")[0]
    rows = re.findall(r"^\| (\d+) \| (.+) \|$", block, flags=re.MULTILINE)
    assert {int(code): text for code, text in rows} == {
        int(code): text for code, text in EXIT_CODES.items()
    }


def test_every_command_is_documented():
    from typer.main import get_command

    from mlproj.cli.app import app

    root = get_command(app)
    names = []
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        sub = getattr(command, "commands", None)
        names.extend(f"{name} {s}" for s in sub) if sub else names.append(name)
    for name in names:
        assert f"mlproj {name}" in README, f"`mlproj {name}` is not documented in README.md"
