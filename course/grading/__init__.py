"""The instructor's grader, ``course-grade``: sandboxed, with a gradebook and feedback.

* :mod:`~course.grading.extract` reads a notebook as JSON and picks the code to run;
* :mod:`~course.grading.sandbox` runs it in a fresh, isolated process per submission,
  forked by a zygote that has NumPy imported (:mod:`~course.grading.runner` is the code on
  the other side, :mod:`~course.grading.isolation` its namespaces and limits,
  :mod:`~course.grading.wire` the plain-data format both sides speak);
* :mod:`~course.grading.grade` judges the returned data in the grader's own process, with
  the same judge as the learner's self-check;
* :mod:`~course.grading.gradebook` and :mod:`~course.grading.feedback` write the results;
* :mod:`~course.grading.cli` is the command line (docs/instructors.md is its guide).
"""
