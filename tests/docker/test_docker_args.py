"""-A options, volumes, docker_env.environment: checked and mapped before any container."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlproj.envs.dockerargs import (
    SUPPORTED,
    Volume,
    parse_docker_args,
    parse_volume,
    resolve_environment,
)
from mlproj.errors import EnvError, ProjectError


def parse(*args: str, env: dict[str, str] | None = None, base: Path = Path("/tmp")):
    return parse_docker_args(args, caller_dir=base, host_env=env or {})


def test_options_map_onto_containers_create_keywords():
    parsed = parse(
        "gpus=all",
        "shm-size=1g",
        "cpus=1.5",
        "memory=512m",
        "network=none",
        "privileged",
        "read-only=false",
        "cap-add=SYS_PTRACE",
        "cap-add=NET_ADMIN",
        "ulimit=nofile=1024:2048",
        "add-host=db:127.0.0.1",
        "label=team=ml",
        "tmpfs=/scratch",
        "u=1000:1000",
    )
    assert parsed.options == {
        "device_requests": [{"capabilities": [["gpu"]], "count": -1}],
        "shm_size": "1g",
        "nano_cpus": 1_500_000_000,
        "mem_limit": "512m",
        "network_mode": "none",
        "privileged": True,
        "read_only": False,
        "cap_add": ["SYS_PTRACE", "NET_ADMIN"],
        "ulimits": [{"name": "nofile", "soft": 1024, "hard": 2048}],
        "extra_hosts": {"db": "127.0.0.1"},
        "labels": {"team": "ml"},
        "tmpfs": {"/scratch": ""},
        "user": "1000:1000",
    }
    assert parsed.recorded[0] == "gpus=all"
    assert "user=1000:1000" in parsed.recorded  # aliases are recorded by their full name


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2", {"count": 2}), ("device=0,2", {"device_ids": ["0", "2"]})],
)
def test_gpus_forms(value, expected):
    request = parse(f"gpus={value}").options["device_requests"][0]
    assert request == {"capabilities": [["gpu"]], **expected}


def test_env_values_are_kept_out_of_the_record():
    parsed = parse("env=TOKEN=s3cr3t", "e=FROM_HOST", env={"FROM_HOST": "h0st-v4lue"})
    assert parsed.environment == {"TOKEN": "s3cr3t", "FROM_HOST": "h0st-v4lue"}
    assert parsed.recorded == ("env=TOKEN", "env=FROM_HOST")
    assert "s3cr3t" not in repr(parsed.options)


def test_volume_option_resolves_relative_paths_against_the_caller(tmp_path):
    (tmp_path / "data").mkdir()
    parsed = parse("volume=./data:/data:ro", base=tmp_path)
    assert parsed.volumes == (Volume(str(tmp_path / "data"), "/data", "ro"),)
    assert parsed.volumes[0].spec() == f"{tmp_path / 'data'}:/data:ro"


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("foo=1", "unsupported docker option 'foo'"),
        ("--gpus=all", "without dashes"),
        ("rm", "always removed after the run"),
        ("it", "unsupported docker option"),
        ("tty", "without a terminal"),
        ("workdir=/x", "the project folder is the working directory"),
        ("memory=lots", "expected a size"),
        ("cpus=-1", "expected a positive number"),
        ("cpus=many", "could not convert"),
        ("gpus=some", "expected all, a count"),
        ("privileged=maybe", "expected true or false"),
        ("shm-size", "expected a value"),
        ("add-host=nohost", "expected KEY:VALUE"),
        ("env=1BAD", "is not a variable name"),
        ("env=MISSING_ON_HOST", "MISSING_ON_HOST is not set here"),
        ("volume=relative", "needs an absolute container path"),
    ],
)
def test_bad_options_are_environment_errors(arg, message):
    with pytest.raises(EnvError) as caught:
        parse(arg)
    assert message in caught.value.message
    assert "\n" not in caught.value.message


def test_scalar_given_twice_is_an_error():
    with pytest.raises(EnvError, match="given twice"):
        parse("memory=1g", "m=2g")


def test_unsupported_option_lists_what_is_supported():
    with pytest.raises(EnvError) as caught:
        parse("nope")
    assert ", ".join(SUPPORTED) in caught.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/tmp:/data", Volume("/tmp", "/data", "rw")),
        ("/tmp:/data:ro", Volume("/tmp", "/data", "ro")),
        ("cache:/root/.cache", Volume("cache", "/root/.cache", "rw")),
        ("/anonymous", Volume("", "/anonymous", "rw")),
    ],
)
def test_volume_forms(text, expected):
    assert parse_volume(text, base=Path("/"), where="v", error=ProjectError) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("/a:/b:/c:/d", "too many ':'"),
        (":/data", "empty host path"),
        ("/tmp:data", "absolute container path"),
        ("/tmp:/data:rx", "unknown mode 'rx'"),
    ],
)
def test_malformed_volumes_raise_the_given_error(text, message):
    with pytest.raises(ProjectError, match=message):
        parse_volume(
            text, base=Path("/"), where="MLproject docker_env.volumes[0]", error=ProjectError
        )


def test_missing_host_path_is_an_environment_error(tmp_path):
    with pytest.raises(EnvError, match="does not exist"):
        parse_volume("./nope:/data", base=tmp_path, where="v", error=ProjectError)


def test_environment_copies_or_sets_and_names_what_is_missing():
    entries = (("FROM_HOST", None), ("FIXED", "v 1"))
    assert resolve_environment(entries, {"FROM_HOST": "x"}) == {"FROM_HOST": "x", "FIXED": "v 1"}
    with pytest.raises(EnvError, match=r"FROM_HOST is not set .* \[FROM_HOST, VALUE\]"):
        resolve_environment(entries, {})
