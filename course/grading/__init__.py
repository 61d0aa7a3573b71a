"""The instructor's grader, ``course-grade``: sandboxed, with a gradebook and feedback.

* :mod:`~course.grading.extract` reads a notebook as JSON and picks the code to run;
* :mod:`~course.grading.sandbox` runs it in a fresh, isolated process per submission
  (:mod:`~course.grading.runner` is the code on the other side);
* :mod:`~course.grading.grade` judges the returned data in the grader's own process;
* :mod:`~course.grading.gradebook` and :mod:`~course.grading.feedback` write the results;
* :mod:`~course.grading.cli` is the command line.
"""
