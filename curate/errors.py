"""User-facing errors: one short line naming the file, line, key or URL at fault.

Exit codes (the root CLI catches `XplusError` and exits with its `exit_code`, printing only `str(error)`;
the traceback is shown only with --debug):

- `DataError` (exit 1): the input data is bad or unreachable: a truncated gzip, a file that is not parquet,
  a file in which no record parses, a URL that answers 404 or times out.
- `ConfigError` (exit 2): the command line, recipe or config is wrong (usage errors included).
"""

from __future__ import annotations


class XplusError(Exception):
    """Base of every error meant for the user rather than the developer."""

    exit_code: int = 1


class ConfigError(XplusError):
    """A usage, recipe or config error (exit 2)."""

    exit_code = 2


class DataError(XplusError):
    """A data error (exit 1)."""

    exit_code = 1


class InputError(DataError):
    """A data error located in one input: `InputError(path, line, message)` reads `path:line: message`."""

    def __init__(self, path: str, line: int | None, message: str):
        self.path, self.line, self.message = path, line, message
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}")
