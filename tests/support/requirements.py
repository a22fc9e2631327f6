"""What a test needs from outside the Python environment (a system tool, Playwright and Chromium):
a missing one skips the test, or fails it when `COURSE_REQUIRE_ALL=1` asks for every test to run."""

from __future__ import annotations

import glob
import os
import shutil
from typing import Any, NoReturn

import pytest

#: `COURSE_REQUIRE_ALL=1`: a missing requirement fails the test instead of skipping it.
REQUIRE_ALL = os.environ.get("COURSE_REQUIRE_ALL") == "1"


def missing(message: str) -> NoReturn:
    """Skip the running test with `message`, or fail it under COURSE_REQUIRE_ALL=1."""
    if REQUIRE_ALL:
        pytest.fail(message)
    pytest.skip(message)


def require_tool(name: str, why: str, also: tuple[str, ...] = ()) -> str:
    """Path of a system tool, on PATH or matching one of the `also` globs (the newest); skip (or fail
    under COURSE_REQUIRE_ALL=1) when it is missing."""
    path = shutil.which(name) or next(iter(sorted((p for g in also for p in glob.glob(g)), reverse=True)), None)
    if path is None:
        missing(f"{name} is not installed ({why}); install it (see README) to run this test")
    return path


def require_playwright(why: str) -> tuple[str, Any]:
    """(Debian's Chromium, `playwright.sync_api.sync_playwright`) for a browser test; skip (or fail
    under COURSE_REQUIRE_ALL=1) when either is missing."""
    chromium = require_tool("chromium", why)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed (browser tests); install the dev extra to run this test")
    return chromium, sync_playwright
