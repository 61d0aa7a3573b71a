"""Submissions that attack the grader's integrity, one or more per class of the integrity review.

Written with the grader's code in hand, each against ``01_regression``. Every
entry states what each exercise must earn under the grader as shipped (the
in-sandbox guard on). The classes:

1. freeze the grader (quadratic parsing, too many statements);
2. outrun the time limits (keep the channel busy, sleep under the alarm everywhere);
3. outgrow the memory limits (flood the channel; children and memory files are
   tested in ``test_grading_integrity.py`` directly on the sandbox);
4. points without solving (a table of public answers, functions that only raise,
   float32 answers to float64 cases, messages that leak hidden inputs);
5. reach past "NumPy only" (SciPy and friends, exec of a hidden copy of the
   reference through ``sys.modules``, ctypes through NumPy, ``open`` through a
   module's builtins, frames);
6. and 7. (hand-ins, feedback, keyrings) are in ``handins.py`` and the feedback
   and keyring tests.

Most attacks reach ``sys`` the way a determined student would: through a module
NumPy imported (``np._core._internal.sys``), since ``import sys`` is refused.
"""

from __future__ import annotations

import numpy as np

from .corpus import FULL, NB, SIGNATURES, Entry, _one, build, function, solution_source, wrapped

SYS = "np._core._internal.sys"  # the standard library's sys, reached through NumPy
AT_MOST = "at_most"


def _all(score, status) -> dict:
    return {name: (score, status) for name in SIGNATURES}


def freeze() -> list[Entry]:
    blank = ("def huber_loss(input, target, reduction='mean', delta=1.0):\n    x = (" + "\n" * 200_000)
    flood = "import numpy as np\n" + "a = 0\n" * 30_000
    notebook = build()
    first = next(c for c in notebook["cells"] if c["cell_type"] == "code")
    first["source"] = flood.splitlines(keepends=True)
    return [
        _one("freeze_blank_lines", "huber_loss", blank, 0, "error", "syntax error"),
        Entry("freeze_statement_flood", {NB: notebook}, _all(0, "invalid"), {"huber_loss": "statements"}),
    ]


def outrun() -> list[Entry]:
    # Cancels its own alarm and keeps writing well-formed, harmless messages: the old
    # watchdog restarted on each one and let the call run for as long as it liked.
    chatty = function("huber_loss", f"""
        s = {SYS}
        os, signal, time = s.modules["os"], s.modules["signal"], s.modules["time"]
        signal.setitimer(signal.ITIMER_REAL, 0)
        for _ in range(100):
            for fd in range(3, 16):
                try:
                    os.write(fd, b'{{"e":"exit","code":0}}\\n')
                except OSError:
                    pass
            time.sleep(0.2)
        return np.float64(0.0)
    """)
    # Twenty statements, each just under the per-call alarm: only a notebook budget stops it.
    notebook = build()
    first = next(c for c in notebook["cells"] if c["cell_type"] == "code")
    first["source"] = (["import numpy as np\n", f"SLEEP = {SYS}.modules['time'].sleep\n"]
                       + [f"_{k} = SLEEP(1.5)\n" for k in range(20)])
    return [
        _one("outrun_chatty_channel", "huber_loss", chatty, 0, "timeout"),
        Entry("outrun_sleeps_everywhere", {NB: notebook}, _all(0, "timeout"),
              {"huber_loss": "budget"}),
    ]


def outgrow() -> list[Entry]:
    # 124 MB of tiny JSON values on the channel grew the old grader to 3 GB.
    flood = wrapped("huber_loss", f"""
        os = {SYS}.modules["os"]
        line = b'{{"e":"stmt","v":[' + b"0," * 500_000 + b'0]}}\\n'
        for _ in range(124):
            for fd in range(3, 16):
                try:
                    os.write(fd, line)
                except OSError:
                    pass
    """)
    return [_one("outgrow_channel_flood", "huber_loss", flood, 0, "error")]


def _table_source(answers: dict) -> str:
    """Functions that look their inputs up in a table of the public answers (as computed at home)."""
    lines = ["TABLE = {"]
    for key, value in answers.items():
        lines.append(f"    {key!r}: {value!r},")
    lines.append("}\n")
    lines.append("def _key(*args):\n    return repr([np.asarray(a).tolist() if hasattr(a, 'shape') "
                 "else a for a in args])\n")
    lines.append("def _answer(key):\n    found = TABLE.get(key)\n    if found == 'raise':\n"
                 "        raise ValueError('bad input')\n    if found is None:\n"
                 "        return np.float64(0.0)\n    return np.array(found)\n")
    for name in SIGNATURES:
        args = SIGNATURES[name].split(", ")
        names = ", ".join(a.split("=")[0] for a in args)
        lines.append(f"def {name}({SIGNATURES[name]}):\n    return _answer(('{name}', _key({names})))\n")
    return "\n".join(lines)


def public_answers() -> dict:
    """What a student can compute at home: the reference's answer to every public case."""
    from course.assignments import get
    from course.assignments.judge import reference_outcome
    from course.assignments.scoring import graded_cases

    assignment = get("01_regression")
    answers = {}
    for exercise in assignment.exercises:
        names = [a.split("=")[0] for a in SIGNATURES[exercise.name].split(", ")]
        for group in exercise.groups:
            if group.hidden:
                continue
            for case, _ in graded_cases(assignment, exercise, group, None, include_hidden=False):
                bound = dict(zip(names, case.args)) | case.kwargs
                values = [bound[n] if n in bound else _default(n) for n in names]
                key = repr([v.tolist() if hasattr(v, "shape") else v for v in values])
                outcome = reference_outcome(exercise, case)
                answers[(exercise.name, key)] = ("raise" if outcome.kind == "error"
                                                 else np.asarray(outcome.value).tolist())
    return answers


def _default(argument: str):
    defaults = {"reduction": "mean", "delta": 1.0, "quantile": 0.5}
    return defaults[argument]


def unearned() -> list[Entry]:
    lookup = build(drop=list(SIGNATURES))
    lookup["cells"].append({"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                            "source": _table_source(public_answers()).splitlines(keepends=True)})
    raises = {name: function(name, "raise ValueError('invalid input')") for name in SIGNATURES}
    low = wrapped("huber_loss", "pass", then=(
        "return (_honest_huber_loss(input, target, reduction, delta) * (1 + 3e-5)).astype(np.float32)"))
    leak = function("huber_loss", "raise ValueError('LEAK' + repr(np.asarray(input).ravel()[:3].tolist()))")
    return [
        Entry("unearned_lookup_table", {NB: lookup}, {n: (0, None) for n in SIGNATURES}),
        Entry("unearned_only_raises", {NB: build(raises)}, {n: (0, None) for n in SIGNATURES}),
        _one("unearned_float32_answers", "huber_loss", low, (AT_MOST, 1.0), "failed", "float32"),
        _one("unearned_leaks_hidden_inputs", "huber_loss", leak, 0, "error"),
    ]


def past_numpy() -> list[Entry]:
    honest_hex = solution_source("huber_loss").encode().hex()
    notebook = build(drop=["huber_loss"])
    first = next(c for c in notebook["cells"] if c["cell_type"] == "code")
    first["source"] = ["import numpy as np\n", f"_B = {SYS}.modules['builtins']\n", "_NS = {'np': np}\n",
                       f"_ = _B.exec(bytes.fromhex('{honest_hex}').decode(), _NS)\n",
                       "huber_loss = _NS['huber_loss']\n"]
    return [
        _one("past_numpy_third_party", "huber_loss", function("huber_loss", """
            import yaml
            return np.float64(yaml.safe_load("1.0"))
        """), 0, "error", "No module named"),
        Entry("past_numpy_exec_via_sys_modules", {NB: notebook}, _all(0, "forbidden"),
              {"huber_loss": "code from a string"}),
        _one("past_numpy_ctypes_via_numpy", "huber_loss",
             wrapped("huber_loss", "np.ctypeslib.ctypes.CDLL(None).getpid()"), 0, "forbidden"),
        _one("past_numpy_open_via_builtins", "quantile_loss",
             wrapped("quantile_loss", "getattr(np, '__built' + 'ins__')['open']('/etc/hostname').read()"),
             0, "forbidden",
             "open a file"),
        _one("past_numpy_frames", "huber_loss_grad", wrapped("huber_loss_grad", """
            try:
                raise ValueError
            except ValueError as error:
                error.__traceback__.tb_frame.f_back.f_locals.clear()
        """), 0, "forbidden"),
        _one("past_numpy_swallows_the_block", "huber_loss", wrapped("huber_loss", f"""
            try:
                {SYS}.modules["os"].system("true")
            except BaseException:
                pass
        """), 0, "forbidden", "shell"),
    ]


def entries() -> list[Entry]:
    return freeze() + outrun() + outgrow() + unearned() + past_numpy()


__all__ = ["AT_MOST", "FULL", "entries", "public_answers"]
