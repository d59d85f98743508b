"""A real HTTP server for tests, bound to 127.0.0.1 only: serves a folder with HEAD, Content-Length and byte
ranges (what fsspec's HTTP filesystem and a remote zip need), a 404 for anything missing, and `/slow/<path>`,
which answers only after `slow_seconds` (for timeouts)."""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
CHUNK = 1 << 20


def _handler(root: Path, slow_seconds: float, log: list[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_HEAD(self):  # noqa: N802 (http.server API)
            self._answer(body=False)

        def do_GET(self):  # noqa: N802
            self._answer(body=True)

        def _answer(self, body: bool) -> None:
            log.append(f"{self.command} {self.path} {self.headers.get('Range', '')}".rstrip())
            path = self.path.split("?", 1)[0]
            if path.startswith("/slow/"):
                time.sleep(slow_seconds)
                path = path.removeprefix("/slow")
            file = (root / path.lstrip("/")).resolve()
            if not file.is_relative_to(root) or not file.is_file():
                self.send_error(404)
                return
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

        def log_message(self, *args):  # keep test output quiet
            pass

    return Handler


@contextlib.contextmanager
def serve(root: Path, slow_seconds: float = 5.0) -> Iterator[tuple[str, list[str]]]:
    """Serve `root` on 127.0.0.1 (a free port) while the block runs: yields the base URL and the request log."""
    log: list[str] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(Path(root).resolve(), slow_seconds, log))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", log
    finally:
        server.shutdown()
        server.server_close()
