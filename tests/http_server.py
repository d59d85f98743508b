"""A real HTTP server for tests, bound to 127.0.0.1 only: serves a folder with HEAD, Content-Length and byte
ranges (what fsspec's HTTP filesystem and a remote zip need), a 404 for anything missing, and `/slow/<path>`,
which answers only after `slow_seconds` (for timeouts).

It also answers the few Hub API calls `huggingface_hub.HfFileSystem` makes to read a dataset file (with
`HF_ENDPOINT` set to the server): `/api/datasets/<repo>/revision/<rev>`, `/api/datasets/<repo>/tree/<rev>/<dir>`
and `/datasets/<repo>/resolve/<rev>/<path>`, serving the files under `<root>/hub/<repo>/`."""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
HUB_API = re.compile(r"/api/datasets/([^/]+/[^/]+)/(revision|tree)/([^/?]+)/?([^?]*)")
HUB_FILE = re.compile(r"/datasets/([^/]+/[^/]+)/resolve/([^/?]+)/([^?]*)")
HUB_COMMIT = "0123456789abcdef0123456789abcdef01234567"
CHUNK = 1 << 20


class _Handler(BaseHTTPRequestHandler):
    """Answers from `root`; `serve` makes a subclass holding the folder, the delay of `/slow/` and the log."""

    root: Path
    slow_seconds: float
    log: list[str]

    def do_HEAD(self):  # noqa: N802 (http.server API)
        self._answer(body=False)

    def do_GET(self):  # noqa: N802
        self._answer(body=True)

    def _answer(self, body: bool) -> None:
        self.log.append(f"{self.command} {self.path} {self.headers.get('Range', '')}".rstrip())
        path = self.path.split("?", 1)[0]
        if match := HUB_API.match(self.path):
            return self._hub_api(*match.groups())
        if match := HUB_FILE.match(path):
            path = f"/hub/{match[1]}/{match[3]}"
        if path.startswith("/slow/"):
            time.sleep(self.slow_seconds)
            path = path.removeprefix("/slow")
        file = (self.root / path.lstrip("/")).resolve()
        if not file.is_relative_to(self.root) or not file.is_file():
            self.send_error(404)
            return
        self._send_file(file, body)

    def _send_file(self, file: Path, body: bool) -> None:
        size = file.stat().st_size
        start, end, status = 0, size, 200
        if match := RANGE.match(self.headers.get("Range", "")):
            first, last = match.groups()
            start = int(first) if first else max(0, size - int(last))
            end = min(size, int(last) + 1) if first and last else size
            status = 206
        self.send_response(status)
        self.send_header("Content-Length", str(end - start))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        self.end_headers()
        if body:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError), file.open("rb") as f:
                f.seek(start)
                while start < end and (chunk := f.read(min(CHUNK, end - start))):
                    self.wfile.write(chunk)
                    start += len(chunk)

    def _hub_api(self, repo: str, call: str, revision: str, folder: str) -> None:
        base = self.root / "hub" / repo
        if not (base / folder).is_dir():
            self.send_error(404)
            return
        if call == "revision":
            answer = {"id": repo, "sha": HUB_COMMIT, "siblings": []}
        else:
            answer = [{"type": "file" if f.is_file() else "directory", "path": f.relative_to(base).as_posix(),
                       "size": f.stat().st_size if f.is_file() else 0, "oid": HUB_COMMIT}
                      for f in sorted((base / folder).iterdir())]
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # keep test output quiet
        pass


@contextlib.contextmanager
def serve(root: Path, slow_seconds: float = 5.0) -> Iterator[tuple[str, list[str]]]:
    """Serve `root` on 127.0.0.1 (a free port) while the block runs: yields the base URL and the request log."""
    log: list[str] = []
    handler = type("Handler", (_Handler,), {"root": Path(root).resolve(), "slow_seconds": slow_seconds, "log": log})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", log
    finally:
        server.shutdown()
        server.server_close()


def hub_mirror(monkeypatch) -> Iterator:
    """A pytest fixture body: yields `use(url)`, which points the Hub client (`hf://` paths) at a server from
    `serve` (`HF_ENDPOINT`) and lets it connect; the Hub filesystems made meanwhile are dropped afterwards."""
    from huggingface_hub import HfFileSystem, constants

    def use(url: str) -> None:
        monkeypatch.setenv("HF_ENDPOINT", url)
        monkeypatch.setenv("HF_HUB_OFFLINE", "0")
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        HfFileSystem.clear_instance_cache()

    yield use
    HfFileSystem.clear_instance_cache()
