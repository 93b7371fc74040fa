"""Starting the entry point: what cannot start fails as a shell would, the rest passes through.

mlproj starts it through ``setpriv --pdeathsig`` where it can (mlproj/parentdeath.py): none of
that may show in exit codes, messages, signals, the program's own argv or the recorded command.
"""

from __future__ import annotations

import signal

import pytest

#: entry point -> (its command, exit code, the reason in "cannot start 'COMMAND': REASON").
UNSTARTABLE = {
    "missing": ("no-such-prog-x", 127, "No such file or directory"),
    "noexec": ("./noexec.sh", 126, "Permission denied"),
    "noformat": ("./noformat", 126, "Exec format error"),
    "badinterp": ("./badinterp.sh", 127, "No such file or directory"),
    "folder": ("./folder", 126, "Permission denied"),
}


@pytest.mark.parametrize("no_setpriv", ["", "1"], ids=["setpriv", "ctypes-hook"])
def test_programs_that_cannot_start_fail_as_before(mlproj, write_project, no_setpriv):
    entries = "".join(f"  {name}:\n    command: {c[0]}\n" for name, c in UNSTARTABLE.items())
    project = write_project(
        {
            "MLproject": f"entry_points:\n{entries}",
            "noexec.sh": "#!/bin/sh\necho never\n",
            "noformat": "echo never\n",  # execvp would run it with /bin/sh; Popen refuses it
            "badinterp.sh": "#!/no/such/interpreter\necho never\n",
            "folder/file": "",
        }
    )
    (project / "noformat").chmod(0o755)
    (project / "badinterp.sh").chmod(0o755)
    for name, (command, code, reason) in UNSTARTABLE.items():
        result = mlproj("run", str(project), "-e", name, MLPROJ_NO_SETPRIV=no_setpriv)
        assert result.returncode == code, (name, result.stderr)
        assert f"mlproj: cannot start '{command}': {reason}\n" in result.stderr, name
        assert "setpriv" not in result.stderr
        assert "never" not in result.stdout
    runs = mlproj("runs", "list", "--json").json()
    assert sorted((r["entry_point"], r["status"], r["exit_code"]) for r in runs) == sorted(
        (name, "FAILED", code) for name, (_c, code, _r) in UNSTARTABLE.items()
    )


def test_exit_status_signals_and_argv_pass_through(mlproj, write_project):
    project = write_project(
        {
            "MLproject": "entry_points:\n"
            '  argv:\n    command: sh -c \'tr "\\\\0" " " < /proc/$$/cmdline\' {word}\n'
            "    parameters: {word: string}\n"
            "  status:\n    command: sh -c 'exit 3'\n"
            "  signal:\n    command: sh -c 'kill -USR1 $$'\n",
        }
    )
    argv = mlproj("run", str(project), "-e", "argv", "-P", "word=w", "-q")
    assert argv.returncode == 0, argv.stderr
    assert argv.stdout.startswith("sh -c ")  # the program itself, its argv[0] as written
    assert argv.stdout.rstrip().endswith(" w")
    assert mlproj("run", str(project), "-e", "status", "-q").returncode == 3
    assert mlproj("run", str(project), "-e", "signal", "-q").returncode == 128 + signal.SIGUSR1
    runs = {r["entry_point"]: r for r in mlproj("runs", "list", "--json").json()}
    assert "setpriv" not in runs["argv"]["command"]
    assert runs["status"]["exit_code"] == 3
    assert runs["signal"]["exit_code"] == 128 + signal.SIGUSR1
