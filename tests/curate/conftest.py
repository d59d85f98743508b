"""Fixtures the curation tests share."""

from __future__ import annotations

import pytest

from .. import http_server


@pytest.fixture
def hub_mirror(monkeypatch):
    """`hf://` paths answered by the test server (`HF_ENDPOINT`): call it with the server's URL."""
    yield from http_server.hub_mirror(monkeypatch)
