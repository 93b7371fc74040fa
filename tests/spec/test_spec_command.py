"""Command templates: checks, file entry points, and rendering proven by running the result."""

from __future__ import annotations

import shlex

import pytest

from mlproj.errors import ProjectError
from mlproj.spec.command import (
    display_command,
    file_entry_point,
    render_command,
    template_problems,
)
from mlproj.spec.model import EntryPoint, Parameter, ParamType
from mlproj.spec.params import ResolvedParams

# Values that would do damage, or fall apart, if any shell parsed them again.
NASTY = [
    "a b",
    "",
    "it's",
    'say "hi"',
    "x; touch pwned",
    "$(touch pwned)",
    "`touch pwned`",
    "${HOME}",
    "$HOME",
    "line1\nline2",
    "tab\there",
    "back\\slash",
    "*",
    "~",
    "-n",
    "a|b&&c>d<e",
    "'; touch pwned; echo '",
    '"; touch pwned; echo "',
    "{alpha}",
    "ünï €",
    "!",
    "# not a comment",
]


def ep(command: str, *names: str) -> EntryPoint:
    return EntryPoint("main", command, tuple(Parameter(name) for name in names))


def params(values: dict[str, str], extra: dict[str, str] | None = None) -> ResolvedParams:
    extra = extra or {}
    return ResolvedParams(given={**values, **extra}, values=dict(values), extra=extra)


# --- template_problems ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "python train.py {alpha} {batch-size}",
        "python train.py --a={alpha} '{alpha}' \"{alpha}\"",
        "echo '{{literal}}' && cat ${{HOME}}/x | wc -l",
        'python prep.py {alpha} \\\n  --rows {alpha} && echo "done in $PWD" | tee log',
        "python t.py {alpha} <<< {alpha}",
        "python t.py {alpha} <<EOF\nplain text\nEOF",
        "python t.py \\${alpha}",
        "echo $'{alpha}' `echo {alpha}` $(echo \"{alpha}\")",
    ],
)
def test_good_templates(command):
    assert template_problems(ep(command, "alpha", "batch-size")) == []


@pytest.mark.parametrize(
    ("command", "problem"),
    [
        (
            "python t.py {alhpa}",
            "unknown placeholder {alhpa}: not a parameter of entry point 'main' "
            "(declared: alpha, beta); did you mean 'alpha'?",
        ),
        (
            "python t.py {}",
            "positional placeholder {} is not supported; name a parameter, like {alpha}",
        ),
        (
            "python t.py {0}",
            "positional placeholder {0} is not supported; name a parameter, like {alpha}",
        ),
        (
            "python t.py {alpha:.2f}",
            "placeholder {alpha:.2f} has a format spec; values are passed exactly as given, "
            "write {alpha}",
        ),
        (
            "python t.py {alpha!r}",
            "placeholder {alpha!r} has a conversion; values are passed exactly as given, "
            "write {alpha}",
        ),
        (
            "python t.py {alpha",
            "unbalanced braces in the command (expected '}' before end of string); "
            "write {{ and }} for literal braces",
        ),
        (
            "python t.py alpha}",
            "unbalanced braces in the command (Single '}' encountered in format string); "
            "write {{ and }} for literal braces",
        ),
        ("python t.py 'oops {alpha}", "unclosed ' quote in the command"),
        ('python t.py "oops {alpha} | cat', 'unclosed " quote in the command'),
        ("python t.py $(echo {alpha}", "unclosed $( substitution in the command"),
        (
            "python t.py ${alpha}",
            "placeholder {alpha} follows '$', so the shell would expand the value as a variable "
            "name; put the value in a variable of its own or drop the '$'",
        ),
        (
            "cat <<EOF\n{alpha}\nEOF",
            "placeholder {alpha} is inside a here-document, where no quoting can protect its "
            "value; pass it as an argument instead",
        ),
    ],
)
def test_bad_templates(command, problem):
    assert template_problems(ep(command, "alpha", "beta")) == [problem]


def test_template_problems_unknown_without_parameters_and_reported_once():
    assert template_problems(ep("python t.py {x} {x}")) == [
        "unknown placeholder {x}: not a parameter of entry point 'main' (it declares no parameters)"
    ]


def test_file_entry_points_have_no_template():
    assert template_problems(EntryPoint("a{b}.py", "python 'a{b}.py'", is_file=True)) == []


# --- rendering without a shell -------------------------------------------------------------


def test_plain_template_runs_without_shell():
    argv = render_command(ep("python train.py --alpha {alpha}", "alpha"), params({"alpha": "0.5"}))
    assert argv == ["python", "train.py", "--alpha", "0.5"]


@pytest.mark.parametrize("value", NASTY)
def test_no_shell_values_are_one_literal_argument(show_project, run_argv, value):
    entry = ep("python show.py {a} --opt={a} \"q {a}\" 'r {a}' {batch-size}", "a", "batch-size")
    argv = render_command(entry, params({"a": value, "batch-size": "32"}, {"k": value}))
    assert argv[0] == "python"  # no shell involved
    expected = [value, f"--opt={value}", f"q {value}", f"r {value}", "32", "--k", value]
    assert run_argv(argv, show_project) == expected
    assert not (show_project / "pwned").exists()


def test_no_shell_quotes_in_template_are_removed_like_a_shell_would(show_project, run_argv):
    entry = ep('python show.py "two words" \'and {a}\' x"y"z', "a")
    assert run_argv(render_command(entry, params({"a": "v"})), show_project) == [
        "two words",
        "and v",
        "xyz",
    ]


# --- rendering with a shell ----------------------------------------------------------------


SHELL_TEMPLATES = [
    ("python show.py {a} | cat", ["{v}"]),
    ('python show.py "{a}" | cat', ["{v}"]),
    ("python show.py 'pre{a}post' {a} | cat", ["pre{v}post", "{v}"]),
    ('python show.py "pre {a} post" | cat', ["pre {v} post"]),
    ("python show.py '{a}' | cat", ["{v}"]),
    ("python show.py $'x{a}y' | cat", ["x{v}y"]),
    ("python show.py \"$(printf '%s' {a})\" | cat", ["{v}"]),
    ('python show.py "$(printf \'%s\' "{a}")" | cat', ["{v}"]),
    ("python show.py \"`printf '%s' {a}`\" | cat", ["{v}"]),
    ("python show.py `printf x`{a} | cat", ["x{v}"]),
    ('A={a} && python show.py "$A"', ["{v}"]),
    ("python show.py {a} # a comment with {a} in it", ["{v}"]),
    ("python show.py \\\n  {a} \\\n  --n {batch-size} | cat", ["{v}", "--n", "32"]),
    ("true && python show.py {a}", ["{v}", "--k", "{v}"]),
    ("python show.py {a} <<< {a}", ["{v}"]),
    ("python show.py {a} <<EOF\nbody $HOME\nEOF", ["{v}"]),
]
# The values that attack quoting itself: every template runs with these, the first three
# templates (one per quoting context) with all of NASTY. Each case starts two processes.
HARD = [
    "a b",
    "",
    "it's",
    'say "hi"',
    "$(touch pwned)",
    "`touch pwned`",
    "line1\nline2",
    "back\\slash",
    "'; touch pwned; echo '",
    '"; touch pwned; echo "',
]
SHELL_CASES = [
    pytest.param(template, expected, value, id=f"{index}-{NASTY.index(value)}")
    for index, (template, expected) in enumerate(SHELL_TEMPLATES)
    for value in (NASTY if index < 3 else HARD)
]


@pytest.mark.parametrize(("template", "expected", "value"), SHELL_CASES)
def test_shell_values_are_one_literal_argument(show_project, run_argv, template, expected, value):
    if "$(" in template or "`" in template:
        # Command substitution drops trailing newlines; that is the shell, not the quoting.
        value = value.rstrip("\n")
    entry = ep(template, "a", "batch-size")
    extra = {"k": value} if template.startswith("true &&") else {}
    argv = render_command(entry, params({"a": value, "batch-size": "32"}, extra))
    assert argv[:2] == ["bash", "-c"]
    assert run_argv(argv, show_project) == [word.replace("{v}", value) for word in expected]
    assert not (show_project / "pwned").exists()


@pytest.mark.parametrize(
    "template",
    [
        "python show.py {a} | cat",
        "FOO=1 python show.py {a}",
        "cd . && python show.py {a}",
        "python show.py *.py {a}",
        "python show.py ~ {a}",
        "python show.py {a} # comment",
        "python show.py {{x}} {a}",
        "python show.py $HOME {a}",
        "python show.py a\\ b {a}",
        "exec python show.py {a}",
        "python show.py {a}\npython show.py {a}",
    ],
)
def test_shell_syntax_selects_bash(template):
    argv = render_command(ep(template, "a"), params({"a": "v"}))
    assert argv == ["bash", "-c", template.replace("{a}", "v").replace("{{x}}", "{x}")]


def test_extra_params_in_shell_mode_are_quoted(show_project, run_argv):
    argv = render_command(
        ep("python show.py {a} | cat", "a"),
        params({"a": "1"}, {"we ird": "$(touch pwned)", "b": "x y"}),
    )
    assert argv[2] == "python show.py 1 | cat '--we ird' '$(touch pwned)' --b 'x y'"


def test_render_refuses_bad_templates_and_missing_values():
    with pytest.raises(ProjectError, match=r"entry point 'main': unknown placeholder \{b\}"):
        render_command(ep("python t.py {b}", "a"), params({"a": "1"}))
    with pytest.raises(ProjectError, match=r"no value for placeholder \{a\}"):
        render_command(ep("python t.py {a}", "a"), params({}))


def test_leading_python_is_not_rewritten():
    argv = render_command(ep("python t.py {a}", "a"), params({"a": "1"}), python="/env/bin/python")
    assert argv[0] == "python"


# --- file entry points ---------------------------------------------------------------------


def test_file_entry_point_python(show_project, run_argv):
    entry = file_entry_point(show_project, "show.py", declared=["main"])
    assert entry == EntryPoint("show.py", "python show.py", (), is_file=True)
    value = "a b; $(touch pwned)"
    argv = render_command(entry, params({}, {"n": "4", "name": value}), python="/env/bin/python")
    assert argv == ["/env/bin/python", "show.py", "--n", "4", "--name", value]
    argv[0] = "python"
    assert run_argv(argv, show_project) == ["--n", "4", "--name", value]


def test_file_entry_point_shell(show_project, run_argv):
    entry = file_entry_point(show_project, "show.sh", declared=[])
    assert entry.command == "bash show.sh"
    argv = render_command(entry, params({}, {"x": "a b"}))
    assert argv == ["bash", "show.sh", "--x", "a b"]
    assert run_argv(argv, show_project) == ["--x", "a b"]


def test_file_entry_point_in_a_subfolder(make_project):
    root = make_project({"src/train.py": "", "MLproject": "name: x\n"})
    entry = file_entry_point(root, "src/train.py")
    assert render_command(entry, params({})) == ["python", "src/train.py"]


def test_file_entry_point_errors_list_declared_entry_points(make_project):
    root = make_project(
        {
            "MLproject": "entry_points:\n  main: {command: a}\n  train: {command: b}\n",
            "notes.txt": "",
            "dir.py/x": "",
        }
    )
    with pytest.raises(ProjectError) as caught:
        file_entry_point(root, "trian")
    assert caught.value.message == (
        "no entry point 'trian' (declared: main, train); to run a file, give a .py or .sh file "
        "inside the project"
    )
    with pytest.raises(ProjectError, match=r"no entry point 'notes.txt' \(declared: main, train\)"):
        file_entry_point(root, "notes.txt")
    with pytest.raises(ProjectError) as caught:
        file_entry_point(root, "missing.py")
    assert caught.value.message == (
        f"no entry point 'missing.py' (declared: main, train) and no file 'missing.py' in "
        f"{root.resolve()}"
    )
    with pytest.raises(ProjectError, match=r"no file 'dir\.py'"):
        file_entry_point(root, "dir.py")


def test_file_entry_point_may_not_escape(make_project):
    root = make_project({"inner/x.py": "", "y.py": ""}, name="outer")
    assert file_entry_point(root / "inner", "../inner/./x.py", declared=[]).is_file
    with pytest.raises(ProjectError, match="outside the project directory"):
        file_entry_point(root / "inner", "../y.py", declared=[])
    with pytest.raises(ProjectError, match="outside the project directory"):
        file_entry_point(root / "inner", "/etc/passwd.py", declared=[])


def test_file_entry_point_in_convention_project(make_project):
    root = make_project({"run.sh": "echo hi\n"})
    with pytest.raises(ProjectError, match=r"\(the project declares none\)"):
        file_entry_point(root, "train.py")


# --- display_command -----------------------------------------------------------------------


def test_display_command():
    assert display_command(["bash", "-c", "python t.py 'a b' | cat"]) == "python t.py 'a b' | cat"
    argv = ["python", "t.py", "a b", "it's", "$(x)", ""]
    shown = display_command(argv)
    assert shown == "python t.py 'a b' 'it'\"'\"'s' '$(x)' ''"
    assert shlex.split(shown) == argv


def test_display_of_a_rendered_command_is_the_users_text():
    entry = EntryPoint(
        "main",
        "python train.py --alpha {alpha}",
        (Parameter("alpha", ParamType.FLOAT),),
    )
    argv = render_command(entry, params({"alpha": "0.5"}))
    assert display_command(argv) == "python train.py --alpha 0.5"
