"""Fixtures for the browser tests: one JupyterLab and one Chromium per test module.

``lab_root`` is the folder the server serves: by default a copy of the course
(notebooks and the folders they link to). A test module can override it with
its own ``lab_root`` fixture (see test_detects_breakage.py).
"""

from __future__ import annotations

import pathlib

import pytest
from labdriver import LabServer, chromium_path, copy_course, launch_browser


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium; a missing browser fails the tests (CI has it), never skips them."""
    try:
        return chromium_path()
    except RuntimeError as error:
        message = str(error)
    pytest.fail(message, pytrace=False)


@pytest.fixture(scope="module")
def lab_tmp(tmp_path_factory) -> pathlib.Path:
    return tmp_path_factory.mktemp("lab")


@pytest.fixture(scope="module")
def lab_root(lab_tmp) -> pathlib.Path:
    return copy_course(lab_tmp / "root")


@pytest.fixture(scope="module")
def lab_server(lab_root, lab_tmp, chromium):
    server = LabServer(lab_root, lab_tmp)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def lab_browser(lab_tmp, chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = launch_browser(playwright, lab_tmp / "chromium-profile")
        yield context
        context.close()


@pytest.fixture
def lab_page(lab_browser, lab_server):
    """A fresh tab; afterwards it is closed and every kernel shut down."""
    page = lab_browser.new_page()
    yield page
    page.close()
    lab_server.shutdown_kernels()
