"""Artifacts: stored, listed and copied out, never escaping the run's artifact folder."""

from __future__ import annotations

import os

import pytest

from mlproj.errors import NotFoundError, UsageError
from mlproj.logwriter import confined_path, copy_artifact
from mlproj.tracking import artifacts


@pytest.fixture
def root(tmp_path):
    folder = tmp_path / "run" / "artifacts"
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def outside(tmp_path):
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text("secret")
    return folder


def test_store_list_and_copy_out(root, tmp_path):
    model = tmp_path / "model.pkl"
    model.write_bytes(b"12345")
    tree = tmp_path / "plots"
    (tree / "deep").mkdir(parents=True)
    (tree / "a.png").write_bytes(b"a")
    (tree / "deep" / "b.png").write_bytes(b"bb")
    assert artifacts.store_artifact(root, model) == "model.pkl"
    assert artifacts.store_artifact(root, model, "models/best") == "models/best/model.pkl"
    assert artifacts.store_artifact(root, tree) == "plots"
    listed = [(f.path, f.size) for f in artifacts.list_files(root)]
    assert listed == [
        ("model.pkl", 5),
        ("models/best/model.pkl", 5),
        ("plots/a.png", 1),
        ("plots/deep/b.png", 2),
    ]
    assert [f.path for f in artifacts.list_files(root, "plots")] == [
        "plots/a.png",
        "plots/deep/b.png",
    ]
    dest = tmp_path / "out"
    written = artifacts.copy_out(root, "plots", dest)
    assert sorted(p.relative_to(dest).as_posix() for p in written) == [
        "plots/a.png",
        "plots/deep/b.png",
    ]
    everything = artifacts.copy_out(root, "", tmp_path / "all")
    assert len(everything) == 4
    assert (tmp_path / "all" / "models" / "best" / "model.pkl").read_bytes() == b"12345"


@pytest.mark.parametrize("bad", ["../x", "a/../../x", "/etc", "..", "a/..\\..\\x"])
def test_escaping_paths_are_refused(root, tmp_path, bad):
    src = tmp_path / "f.txt"
    src.write_text("x")
    with pytest.raises(UsageError, match=r"relative|outside"):
        artifacts.store_artifact(root, src, bad)
    with pytest.raises(UsageError):
        artifacts.list_files(root, bad)
    with pytest.raises(UsageError):
        artifacts.copy_out(root, bad, tmp_path / "out")
    assert not any(root.iterdir())


def test_planted_symlinks_are_neither_followed_in_nor_out(root, outside, tmp_path):
    os.symlink(outside, root / "link")  # a run planted a link to a folder outside
    os.symlink(outside / "secret.txt", root / "secret-link.txt")
    src = tmp_path / "f.txt"
    src.write_text("payload")
    # In: writing through the link would land outside.
    with pytest.raises(UsageError, match="outside"):
        artifacts.store_artifact(root, src, "link")
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    # Out: the links are not listed, not read, not copied.
    assert artifacts.list_files(root) == []
    with pytest.raises(UsageError):
        artifacts.locate(root, "link/secret.txt")
    with pytest.raises(UsageError, match=r"symbolic link|outside"):
        artifacts.locate(root, "secret-link.txt")
    os.symlink(root / "link", root / "inner-link")  # a link that stays inside is refused too
    with pytest.raises(UsageError, match=r"symbolic link|outside"):
        artifacts.locate(root, "inner-link")
    assert artifacts.copy_out(root, "", tmp_path / "out") == []


def test_destination_that_is_a_link_is_refused(root, outside, tmp_path):
    src = tmp_path / "secret.txt"
    src.write_text("overwrite")
    os.symlink(outside / "secret.txt", root / "secret.txt")
    with pytest.raises(ValueError, match="symbolic link"):
        copy_artifact(src, root)
    assert (outside / "secret.txt").read_text() == "secret"


def test_folders_with_links_are_copied_as_files(root, outside, tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    os.symlink(outside / "secret.txt", tree / "copy-of-secret.txt")
    artifacts.store_artifact(root, tree)
    stored = root / "tree" / "copy-of-secret.txt"
    assert stored.is_file()
    assert not stored.is_symlink()


def test_missing_things(root, tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        artifacts.store_artifact(root, tmp_path / "nope")
    with pytest.raises(NotFoundError, match="no artifact"):
        artifacts.list_files(root, "nope")
    assert artifacts.list_files(tmp_path / "never-created") == []


def test_confined_path_handles_the_filesystem_root(tmp_path):
    assert str(confined_path("/", "etc")) == os.path.realpath("/etc")
    with pytest.raises(ValueError, match="relative"):
        confined_path(tmp_path, "../x")
