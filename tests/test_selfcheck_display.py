"""`check(fn)` as the last line of a cell shows its report once, not printed and then echoed."""

import contextlib
import io

from IPython.testing.globalipapp import start_ipython

CELLS = [
    "import numpy as np\nfrom course.assignments import get\n"
    "from course.assignments.selfcheck import make_checker\n"
    "check = make_checker(get('01_regression'))",
    "def huber_loss(input, target, reduction='mean', delta=1.0):\n"
    "    if np.shape(input) != np.shape(target):\n"
    "        raise ValueError('input and target must have the same shape')\n"
    "    d = np.abs(input - target)\n"
    "    v = np.where(d <= delta, 0.5 * d**2, delta * (d - 0.5 * delta))\n"
    "    return v.mean() if reduction == 'mean' else (v.sum() if reduction == 'sum' else v)",
]


def _run(cell: str, shell) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        shell.run_cell(cell, store_history=True)
    return out.getvalue()


def test_the_report_appears_once_per_cell():
    shell = start_ipython()
    for cell in CELLS:
        _run(cell, shell)
    shown = _run("check(huber_loss)", shell)
    assert shown.count("huber_loss: all") == 1, shown
    # kept in a variable, it still shows itself when asked for later
    assert _run("report = check(huber_loss)", shell).count("huber_loss: all") == 1
    assert _run("report", shell).count("huber_loss: all") == 1
