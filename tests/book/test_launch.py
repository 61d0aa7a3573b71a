"""Launching a lesson elsewhere: one repository address, the Colab install cell, Binder, badges."""

import json
import os
import pathlib
import subprocess
import sys

from packaging.requirements import Requirement

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "book"))

import config  # noqa: E402
import launch  # noqa: E402

LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_lessons_and_readme_match_the_configured_repository():
    run = subprocess.run([sys.executable, str(ROOT / "book" / "launch.py"), "--check"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_every_lesson_starts_with_the_install_cell():
    for path in LESSONS:
        first = json.loads(path.read_text(encoding="utf-8"))["cells"][0]
        assert first["cell_type"] == "code" and launch.TAG in first["metadata"]["tags"], path.name
        assert config.repository() in "".join(first["source"])


def test_the_install_cell_is_a_valid_pip_requirement_and_a_no_op_here():
    requirement = Requirement(config.install_spec())
    assert requirement.name == "loss-course" and requirement.url == f"git+{config.repository()}"
    code = launch.install_source().replace("    %pip install", "    raise SystemExit('would install')  #")
    exec(compile(code, "install-cell", "exec"), {})  # the course is installed: nothing happens
    assert "print(" in code  # the if-block still parses when a tool drops the %pip line


def test_one_repository_address():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert text.count(config.repository()) == 1
    for name in ("conf.py", "build.py", "launch.py"):
        assert "github.com" not in (ROOT / "book" / name).read_text(encoding="utf-8"), name


def test_binder_installs_cpu_torch_then_the_course():
    post = ROOT / "binder" / "postBuild"
    assert os.access(post, os.X_OK)
    lines = [line for line in post.read_text().splitlines() if line and not line.startswith("#")]
    assert lines[0] == "set -euo pipefail"
    assert "--index-url https://download.pytorch.org/whl/cpu" in lines[1] and "torch" in lines[1]
    assert "-c constraints.txt -e ." in lines[2]
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"


def test_readme_links_the_site_the_badges_and_binder():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert config.site_url() in readme and "(binder/)" in readme and "make book" in readme
    for path in LESSONS:
        rel = f"notebooks/{path.name}"
        assert config.colab_url(rel) in readme and config.binder_url(rel) in readme
