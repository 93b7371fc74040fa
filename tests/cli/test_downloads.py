"""`path` parameters given as http(s) URLs are downloaded before the run, as MLflow does."""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

PROJECT = {
    "MLproject": (
        "name: fetch\nentry_points:\n  main:\n    parameters:\n      data: path\n"
        '    command: "python show.py {data}"\n'
    ),
    "show.py": "import sys\nprint(sys.argv[1])\nprint(open(sys.argv[1]).read(), end='')\n",
}


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTP server on 127.0.0.1 serving a folder: (base URL, folder)."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(_Quiet, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", folder
    server.shutdown()
    server.server_close()


def test_an_http_path_is_downloaded_and_recorded(mlproj, write_project, served):
    base, folder = served
    (folder / "points data.csv").write_text("x,y\n1,2\n")
    project = write_project(PROJECT)
    url = f"{base}/points%20data.csv"
    result = mlproj("run", str(project), "-P", f"data={url}")
    assert result.returncode == 0, result.stderr
    local, content = result.stdout.split("\n", 1)
    assert content == "x,y\n1,2\n"
    assert local.endswith("/data/points_data.csv")
    assert local.startswith(os.environ["MLPROJ_CACHE_DIR"])
    assert not Path(local).exists()  # removed with the run's end
    [run] = mlproj("runs", "list", "--json").json()
    assert run["params"]["data"] == url  # the URL is what a rerun fetches again
    assert run["tags"]["mlproj.param.data.sha256"] == hashlib.sha256(b"x,y\n1,2\n").hexdigest()
    assert run["tags"]["mlproj.param.data.bytes"] == "8"
    assert "downloading parameter data" in result.stderr


def test_a_missing_url_is_one_line_and_no_run(mlproj, write_project, served):
    base, _ = served
    project = write_project(PROJECT)
    result = mlproj("run", str(project), "-P", f"data={base}/nope.csv")
    assert result.returncode == 114
    errors = [x for x in result.stderr.splitlines() if x.startswith("mlproj: error:")]
    assert errors == [
        f"mlproj: error: parameter 'data': cannot download {base}/nope.csv: HTTP 404 File not "
        "found; check the URL, or download the file and pass its path"
    ]
    assert mlproj("runs", "list", "--json").json() == []
    downloads = Path(os.environ["MLPROJ_CACHE_DIR"]) / "downloads"
    assert not any(p.name.startswith("run-") and any(p.iterdir()) for p in downloads.iterdir())


def test_an_unreachable_host_and_an_undownloadable_scheme(mlproj, write_project):
    project = write_project(PROJECT)
    result = mlproj("run", str(project), "-P", "data=http://127.0.0.1:9/x.csv")
    assert result.returncode == 114
    assert "cannot download http://127.0.0.1:9/x.csv (" in result.stderr
    result = mlproj("run", str(project), "-P", "data=s3://bucket/x.csv")
    assert result.returncode == 113
    assert "remote URI that mlproj cannot download" in result.stderr
