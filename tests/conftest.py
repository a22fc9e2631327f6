"""Shared pytest configuration: nbval tweaks and the COURSE_REQUIRE_ALL switch."""

from __future__ import annotations

import glob
import os
import shutil
from typing import Any

import pytest

REQUIRE_ALL = os.environ.get("COURSE_REQUIRE_ALL") == "1"


def require_tool(name: str, why: str, also: tuple[str, ...] = ()) -> str:
    """Path of a system tool, on PATH or matching one of the `also` globs (the newest); skip (or fail
    under COURSE_REQUIRE_ALL=1) when it is missing."""
    path = shutil.which(name) or next(iter(sorted((p for g in also for p in glob.glob(g)), reverse=True)), None)
    if path is None:
        message = f"{name} is not installed ({why}); install it (see README) to run this test"
        if REQUIRE_ALL:
            pytest.fail(message)
        pytest.skip(message)
    return path



def require_playwright(why: str) -> tuple[str, Any]:
    """(Debian's Chromium, `playwright.sync_api.sync_playwright`) for a browser test; skip (or fail
    under COURSE_REQUIRE_ALL=1) when either is missing."""
    chromium = require_tool("chromium", why)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        message = "playwright is not installed (browser tests); install the dev extra to run this test"
        if REQUIRE_ALL:
            pytest.fail(message)
        pytest.skip(message)
    return chromium, sync_playwright

def pytest_collectstart(collector):
    if collector.path is not None and collector.path.suffix == ".ipynb":
        # Widget views carry random model ids; JavaScript/HTML reprs are not lesson content.
        collector.skip_compare += ("text/html", "application/javascript", "stderr")


def pytest_collection_modifyitems(items):
    for item in items:
        if type(item).__name__ == "IPyNbCell":
            item.output_timeout = 60  # nbval hard-codes 5 s per output message
