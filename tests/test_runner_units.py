"""Small pieces of the runner and live tracking that stand in for a heavier import."""

from __future__ import annotations

import json

import pytest

from mlproj import logwriter
from mlproj.runner import json_names
from mlproj.tracking import live

#: Every ASCII character and some others: quotes, backslashes, controls, DEL, accents, emoji.
_CHARACTERS = [chr(code) for code in range(128)] + ["é", "ü", "\u2028", "\U0001f600"]


@pytest.mark.parametrize("character", _CHARACTERS, ids=repr)
def test_json_names_is_json_dumps(character):
    for names in ([character], [f"a{character}b", "alpha"], ["alpha", character * 3]):
        assert json_names(names) == json.dumps(names)
        assert json.loads(json_names(names)) == names


def test_json_names_of_no_names_and_of_plain_ones():
    assert json_names([]) == "[]"
    assert json_names(["alpha", "l1_ratio", "data path", "a/b"]) == (
        '["alpha", "l1_ratio", "data path", "a/b"]'
    )


def test_live_tracking_and_the_log_writer_name_the_same_variables():
    assert (live.LOG_FILE_ENV, live.ARTIFACT_DIR_ENV) == (
        logwriter.LOG_FILE_ENV,
        logwriter.ARTIFACT_DIR_ENV,
    )
