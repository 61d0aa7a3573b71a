"""Pytest set-up for every path: run the lessons' claims strictly.

A lesson's ``claims`` cells print a note when a claim fails, so that a learner
who changes a seed is not stopped (see ``course/claims.py``). Under pytest,
nbval's kernels inherit this environment, and a failed claim is an error.
``make test`` sets the same variable; this covers a plain ``pytest`` run.
"""

import os

os.environ.setdefault("COURSE_STRICT_CLAIMS", "1")
