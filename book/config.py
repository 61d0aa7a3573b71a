"""The book's addresses, all derived from ``[project.urls] Repository`` in pyproject.toml.

GitHub Pages publishes ``https://<owner>.github.io/<repo>/``; Colab opens
``https://colab.research.google.com/github/<owner>/<repo>/blob/<branch>/<path>``; Binder builds
``https://mybinder.org/v2/gh/<owner>/<repo>/<branch>?urlpath=lab/tree/<path>`` from ``binder/``.
"""

from __future__ import annotations

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
BRANCH = "main"


def repository() -> str:
    # A regular expression, not tomllib: the course supports Python 3.10.
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    table = re.search(r"^\[project\.urls\]\n(.*?)(?=^\[)", text, re.S | re.M)
    found = table and re.search(r'^Repository\s*=\s*"([^"]+)"', table.group(1), re.M)
    if not found:
        raise ValueError("pyproject.toml has no [project.urls] Repository")
    return found.group(1).rstrip("/")


def owner_and_name() -> tuple[str, str]:
    match = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?", repository())
    if not match:
        raise ValueError(f"[project.urls] Repository is not a GitHub address: {repository()}")
    return match.group(1), match.group(2)


def site_url() -> str:
    owner, name = owner_and_name()
    return f"https://{owner.lower()}.github.io/{name}/"


def colab_url(path: str) -> str:
    owner, name = owner_and_name()
    return f"https://colab.research.google.com/github/{owner}/{name}/blob/{BRANCH}/{path}"


def binder_url(path: str) -> str:
    owner, name = owner_and_name()
    return f"https://mybinder.org/v2/gh/{owner}/{name}/{BRANCH}?urlpath=lab/tree/{path}"


def install_spec() -> str:
    return f"loss-course @ git+{repository()}"
