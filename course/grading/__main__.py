"""``python -m course.grading``: the same as ``course-grade``."""

import sys

from .cli import main

sys.exit(main())
