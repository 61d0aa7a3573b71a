"""loss-course: how loss functions shape learning.

``course.losses`` holds every loss and its gradient in NumPy;
``course.gradcheck`` checks any gradient against finite differences;
``course.assignments`` holds the exercises' checks and the self-check;
``course.grading`` is the instructor's grader (``course-grade``).
"""

__version__ = "0.1.0"
