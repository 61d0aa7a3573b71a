"""Start an isolated JupyterLab and a headless Chromium for the browser tests.

Everything the server reads or writes lives in one temporary directory:
``JUPYTER_CONFIG_DIR`` (with the announcements toast disabled),
``JUPYTER_RUNTIME_DIR``, ``JUPYTER_DATA_DIR``, ``JUPYTERLAB_WORKSPACES_DIR``,
``IPYTHONDIR`` and the served root, into which the course notebooks are
copied, so autosave can never write into the repository. The lesson checks
themselves are in :mod:`lessoncheck`.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

REPO = pathlib.Path(__file__).resolve().parents[2]
# the project's .venv (what `make` installs), else the environment running pytest
VENV_BIN = REPO / ".venv" / "bin" if (REPO / ".venv" / "bin" / "jupyter").exists() else (
    pathlib.Path(sys.executable).parent)
ARTIFACTS = REPO / "artifacts" / "browser"
TOKEN = "loss-course-browser-test"

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]

# Variables that could point Jupyter or IPython at a user's own setup.
_LEAKY_ENV = ("JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "JUPYTER_PREFER_ENV_PATH",
              "JUPYTERLAB_SETTINGS_DIR", "JUPYTER_TOKEN", "JUPYTER_PLATFORM_DIRS")


def chromium_path() -> str:
    """The system Chromium; raise with install instructions when it is missing."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        raise RuntimeError(
            "The browser tests need Debian's Chromium, which is not installed: "
            "run `sudo apt-get install chromium` (`make test` installs it when run as root)."
        )
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def isolated_env(tmp: pathlib.Path) -> dict:
    """Environment for a Jupyter server that reads and writes only under ``tmp``."""
    env = {k: v for k, v in os.environ.items() if k not in _LEAKY_ENV}
    dirs = {
        "JUPYTER_CONFIG_DIR": tmp / "config",
        "JUPYTER_RUNTIME_DIR": tmp / "runtime",
        "JUPYTER_DATA_DIR": tmp / "data",
        "JUPYTERLAB_WORKSPACES_DIR": tmp / "workspaces",
        "IPYTHONDIR": tmp / "ipython",
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    labconfig = dirs["JUPYTER_CONFIG_DIR"] / "labconfig"
    labconfig.mkdir(exist_ok=True)
    page_config = {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}
    (labconfig / "page_config.json").write_text(json.dumps(page_config))
    env.update({key: str(path) for key, path in dirs.items()})
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def copy_course(root: pathlib.Path) -> pathlib.Path:
    """A learner's workspace under ``root``, made as `make lab` makes it (course.workspace)."""
    from course.workspace import create

    root.mkdir(parents=True, exist_ok=True)
    create(root, REPO)
    return root


def lab_command(port: int, root: pathlib.Path) -> list[str]:
    command = [
        str(VENV_BIN / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}",
        f"--ServerApp.root_dir={root}", "--LabApp.news_url=None",
        # as `make lab` runs it: saved explorers become "run the cell to bring it back"
        "--ContentsManager.pre_save_hook=course.workspace.pre_save_hook",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    return command


def wait_for_server(base: str, token: str, process: subprocess.Popen, log: pathlib.Path,
                    timeout: float = 90.0) -> None:
    """Wait until ``/api/status`` answers; fail with the server log if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Jupyter exited with {process.returncode}:\n{tail(log)}")
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise RuntimeError(f"Jupyter did not answer at {base} within {timeout:.0f} s:\n{tail(log)}")


def tail(path: pathlib.Path, chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


def stop_group(process: subprocess.Popen, timeout: float = 15.0) -> None:
    """Stop a process started with ``start_new_session=True`` and all its children."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    # kernels and other children may outlive the leader; the group id still names them
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if process.poll() is None:
        process.wait(timeout=timeout)


class LabServer:
    """A JupyterLab serving ``root`` on a free loopback port with a fixed token."""

    def __init__(self, root: pathlib.Path, tmp: pathlib.Path):
        self.root = root
        self.token = TOKEN
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "jupyter-lab.log"
        self.env = isolated_env(tmp)
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                lab_command(self.port, root), env=self.env, cwd=root, stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_for_server(self.base, self.token, self.process, self.log)
        except BaseException:
            self.stop()
            raise

    def url(self, path: str = "lab", **query: str) -> str:
        params = "".join(f"&{key}={value}" for key, value in query.items())
        return f"{self.base}/{path}?token={self.token}{params}"

    def api(self, method: str, path: str):
        request = urllib.request.Request(
            f"{self.base}/api/{path}", method=method,
            headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def start_session(self, relpath: str, kernel: str = "python3") -> None:
        """Start the notebook's kernel now (Lab attaches to it when the notebook opens),
        so the kernel boots while the page loads."""
        body = json.dumps({"path": relpath, "name": pathlib.PurePosixPath(relpath).name,
                           "type": "notebook", "kernel": {"name": kernel}}).encode()
        request = urllib.request.Request(
            f"{self.base}/api/sessions", data=body, method="POST",
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60):
            pass

    def shutdown_session(self, relpath: str) -> None:
        """Shut down the kernel of one notebook (others may still be running)."""
        for session in self.api("GET", "sessions"):
            if session.get("path") == relpath:
                try:
                    self.api("DELETE", f"sessions/{session['id']}")
                except urllib.error.HTTPError:
                    pass

    def shutdown_kernels(self) -> None:
        """Shut down every kernel, so one lesson's kernel never slows the next."""
        for session in self.api("GET", "sessions"):
            try:
                self.api("DELETE", f"sessions/{session['id']}")
            except urllib.error.HTTPError:
                pass

    def stop(self) -> None:
        stop_group(self.process)


def launch_browser(playwright, profile: pathlib.Path):
    """Debian's Chromium, headless, with a fresh profile; returns the browser context."""
    context = playwright.chromium.launch_persistent_context(
        user_data_dir=str(profile), executable_path=chromium_path(), headless=True,
        args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(60_000)
    return context
