"""Where bitext comes from: local paths, `https://` URLs and `hf://` Hub paths, opened as streams.

Every reader opens its inputs here, so all of them get the same behaviour:

- **one file or a folder**: a source path that is one file is read as that file, and records name it
  (`eng_Latn-spa_Latn.gz`, not `""`); a URL is always one file (HTTP has no folder listing to rely on);
- **streamed, memory bounded**: compressed inputs (`.gz`, `.zst`, `.bz2`, `.xz`) are decompressed as they are
  read, a `.zip` member is read straight from the archive, remote files are read in blocks (fsspec);
- **pinned**: `sha256=` checks the bytes while they stream past (no second read); a mismatch is an error;
- **errors in one line**: a truncated gzip, a non-parquet `.parquet`, a 404, a timeout become an `InputError`
  naming the file or URL (`describe_error`), never a traceback;
- **bounded retries, short timeouts**: HTTP connections time out after `XPLUS_HTTP_TIMEOUT` seconds (default
  60) and opening a remote file is tried `XPLUS_HTTP_RETRIES` times (default 3) before it is an error.

`source_info` resolves a source's size and reachability without reading it (`xplus curate check`).
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import hashlib
import io
import lzma
import os
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any, TypeVar

from datatrove.io import DataFolder, get_datafolder
from fsspec.core import split_protocol

from xplus.curate.errors import InputError

COMPRESSIONS = (".gz", ".zst", ".bz2", ".xz")
#: names that are one file even on a remote filesystem that could also hold a folder of that name
FILE_SUFFIXES = (*COMPRESSIONS, ".zip", ".parquet", ".tsv", ".jsonl", ".json", ".tmx", ".txt")
ZIP_MEMBER = ".zip/"  # `en-sw.txt.zip/NLLB.en-sw.en`: a member of a zip archive
HTTP = ("http", "https")
T = TypeVar("T")


def http_timeout() -> float:
    return float(os.environ.get("XPLUS_HTTP_TIMEOUT", "60"))


def http_retries() -> int:
    return max(1, int(os.environ.get("XPLUS_HTTP_RETRIES", "3")))


def http_storage_options() -> dict[str, Any]:
    """fsspec options of an HTTP filesystem: connect and read timeouts of `XPLUS_HTTP_TIMEOUT` seconds, and a
    read-ahead cache of one block."""
    import aiohttp

    timeout = http_timeout()
    # readahead: a stream keeps one block (fsspec's 5 MB) in memory, not a growing window of the file
    return {"client_kwargs": {"timeout": aiohttp.ClientTimeout(sock_connect=timeout, sock_read=timeout)},
            "cache_type": "readahead"}


def source_folder(path: str) -> tuple[DataFolder, str | None]:
    """The folder to read and, when `path` is one file, that file's name in it."""
    protocol = split_protocol(path)[0]
    path = path.rstrip("/") if protocol else path
    if protocol in (None, "file"):
        local = split_protocol(path)[1]
        if os.path.isfile(local):
            return get_datafolder(os.path.dirname(os.path.abspath(local))), os.path.basename(local)
        return get_datafolder(path), None
    options = http_storage_options() if protocol in HTTP else {}
    if protocol == "hf" and os.environ.get("HF_ENDPOINT"):
        options = {"endpoint": os.environ["HF_ENDPOINT"]}  # a mirror (read now, not at import)
    parent, name = path.rsplit("/", 1)
    if protocol in HTTP or name.endswith(FILE_SUFFIXES):
        return get_datafolder((parent, options)), name
    return get_datafolder((path, options)), None


def retried(action: Callable[[], T]) -> T:
    """`action()`, tried up to `XPLUS_HTTP_RETRIES` times on a network failure (never on a 404)."""
    attempts = http_retries()
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except (OSError, TimeoutError, *_network_errors()) as err:
            cause = root_cause(err)
            if isinstance(cause, FileNotFoundError) or attempt == attempts or not _transient(cause):
                raise
            time.sleep(min(0.2 * 2 ** attempt, 5.0))
    raise AssertionError("unreachable")


def _network_errors() -> tuple[type[BaseException], ...]:
    """fsspec's HTTP (aiohttp) and the Hub client's (httpx, named `httpx2` in some builds) failures."""
    import aiohttp
    from fsspec.exceptions import FSTimeoutError

    try:
        import httpx2 as httpx
    except ImportError:
        import httpx
    return aiohttp.ClientError, FSTimeoutError, httpx.HTTPError


def root_cause(err: BaseException) -> BaseException:
    """fsspec's HTTP filesystem reports any failure to stat a URL (a timeout too) as `FileNotFoundError` raised
    from the real error: that one, unless it is the 404."""
    cause = err.__cause__
    if isinstance(err, FileNotFoundError) and cause is not None and _status(cause) != 404:
        return cause
    return err


def _status(err: BaseException) -> int | None:
    """The HTTP status of a failed request: aiohttp's `status`, or the Hub client's `response.status_code`."""
    return getattr(err, "status", None) or getattr(getattr(err, "response", None), "status_code", None)


def _transient(err: BaseException) -> bool:
    """A failure worth another try: a server error, a rate limit, a timeout, a dropped connection (not a 404, a
    permission error or a local file)."""
    if (status := _status(err)) is not None:
        return status >= 500 or status == 429
    return isinstance(err, (TimeoutError, ConnectionError, *_network_errors()))


# -- reading ------------------------------------------------------------------------------------------------
class _Sha256Reader(io.RawIOBase):
    """Passes bytes through and hashes them; `finished` once the underlying stream returned its end."""

    def __init__(self, raw: IO[bytes]):
        self.raw, self.digest, self.finished = raw, hashlib.sha256(), False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        self.digest.update(data)
        self.finished = self.finished or not data
        buffer[: len(data)] = data
        return len(data)


def _decompressed(stream: IO[bytes], name: str) -> IO[bytes]:
    if name.endswith(".gz"):
        return gzip.GzipFile(fileobj=stream, mode="rb")
    if name.endswith(".bz2"):
        return bz2.BZ2File(stream)
    if name.endswith(".xz"):
        return lzma.LZMAFile(stream)
    if name.endswith(".zst"):
        return io.BufferedReader(_ZstdReader(stream))  # buffered, it iterates by lines like the others
    return stream


class _ZstdReader(io.RawIOBase):
    """Zstandard frames decompressed as they are read; a stream that ends inside a frame is an `EOFError`, as
    for gzip, bz2 and xz (zstandard's own `stream_reader` returns the truncated data without a word)."""

    def __init__(self, raw: IO[bytes]):
        import zstandard

        self.raw, self.new = raw, zstandard.ZstdDecompressor().decompressobj
        self.frame, self.pending, self.in_frame = self.new(), b"", False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.pending:
            chunk = self.raw.read(1 << 16)
            if not chunk:
                if self.in_frame:
                    raise EOFError("zstd: compressed file ended before the end of a frame")
                return 0
            while chunk:
                self.in_frame = True
                self.pending += self.frame.decompress(chunk)
                chunk = b""
                if self.frame.eof:  # a frame ended: the next one (if any) starts in its unused data
                    chunk, self.frame, self.in_frame = self.frame.unused_data, self.new(), False
        size = min(len(buffer), len(self.pending))
        buffer[:size], self.pending = self.pending[:size], self.pending[size:]
        return size


@contextlib.contextmanager
def open_input(folder: DataFolder, path: str, sha256: str | None = None) -> Iterator[IO[bytes]]:
    """`path` in `folder` as a binary stream that iterates by lines, decompressed by its suffix.

    `a.zip/member` opens one member of a zip archive. With `sha256`, the raw bytes are hashed as they are read
    and, when the stream was read to its end, compared with it (`InputError` on a mismatch).
    """
    if ZIP_MEMBER in path:
        archive, member = path.split(ZIP_MEMBER, 1)
        with open_zip(folder, archive + ".zip") as zf, zf.open(member) as stream:
            yield _decompressed(stream, member)
        return
    with retried(lambda: folder.open(path, "rb")) as raw:
        hashing = _Sha256Reader(raw) if sha256 else None
        stream = io.BufferedReader(hashing) if hashing else raw
        with contextlib.closing(_decompressed(stream, path)) as data:
            yield data
        if hashing and hashing.finished and hashing.digest.hexdigest() != sha256.lower():
            raise InputError(folder.resolve_paths(path), None,
                             f"sha256 mismatch: expected {sha256}, got {hashing.digest.hexdigest()} (the file "
                             f"changed since the recipe pinned it)")


@contextlib.contextmanager
def open_zip(folder: DataFolder, path: str) -> Iterator[zipfile.ZipFile]:
    """A zip archive, read through a seekable stream (HTTP range requests when remote): only the central
    directory and the members read are fetched."""
    with retried(lambda: folder.open(path, "rb")) as raw, zipfile.ZipFile(raw) as zf:
        yield zf


def zip_members(folder: DataFolder, path: str) -> list[str]:
    with open_zip(folder, path) as zf:
        return [info.filename for info in zf.infolist() if not info.is_dir()]


#: what goes wrong while reading an input, turned into one line naming it by `describe_error`
def read_errors() -> tuple[type[BaseException], ...]:
    import pyarrow as pa
    import zstandard

    return (EOFError, OSError, zlib.error, lzma.LZMAError, zipfile.BadZipFile, zstandard.ZstdError,
            pa.ArrowException, TimeoutError, *_network_errors())


def describe_error(err: BaseException, name: str) -> str:
    """One line for what went wrong reading `name`."""
    import pyarrow as pa

    err = root_cause(err)
    first_line = (str(err).strip().splitlines() or [""])[0][:200]
    if isinstance(err, FileNotFoundError):
        return "not found (no such file, or HTTP 404)"
    compression_errors = EOFError | zlib.error | gzip.BadGzipFile | lzma.LZMAError
    if isinstance(err, compression_errors) or "zstandard" in type(err).__module__:
        return f"truncated or corrupt compressed data ({type(err).__name__}: {first_line or 'unexpected end'})"
    if isinstance(err, zipfile.BadZipFile):
        return f"not a readable zip archive ({first_line})"
    if isinstance(err, pa.ArrowException):
        return f"not a readable parquet file ({first_line})" if name.endswith(".parquet") else first_line
    if isinstance(err, TimeoutError) or "Timeout" in type(err).__name__:
        return f"timed out (no answer within {http_timeout():g} s, {http_retries()} tries)"
    status = _status(err)
    if status == 404:
        return "not found (no such file, or HTTP 404)"
    if status:
        return f"HTTP {status} {getattr(err, 'message', '')}".rstrip()
    if "ConnectError" in type(err).__name__ or isinstance(err, ConnectionError):
        return f"cannot connect ({first_line})"
    return f"{type(err).__name__}: {first_line}"


# -- resolving without reading -------------------------------------------------------------------------------
@dataclass
class SourceInfo:
    where: str
    files: int = 0
    size: int | None = None
    error: str | None = None


def source_info(path: str, suffixes: tuple[str, ...] | None = None) -> SourceInfo:
    """Size and reachability of a source (HEAD / `fs.info` / a listing), reading none of its data."""
    try:
        folder, name = source_folder(path)
    except Exception as err:  # noqa: BLE001 (any failure to resolve is reported on the source's line)
        return SourceInfo(path, error=describe_error(err, path))
    where = path
    try:
        if name:
            size = retried(lambda: folder.fs.info(folder.resolve_paths(name)).get("size"))
            return SourceInfo(where, 1, size)
        listing = retried(lambda: folder.find("", detail=True))  # one listing, sizes included
        sizes = [info.get("size") for file, info in listing.items() if suffixes is None or file.endswith(suffixes)]
        if not sizes:
            return SourceInfo(where, error="no input file" + (f" ending in {', '.join(suffixes)}" if suffixes else ""))
        return SourceInfo(where, len(sizes), None if None in sizes else sum(sizes))
    except (*read_errors(), ValueError) as err:
        return SourceInfo(where, error=describe_error(err, where))
