"""loss-course: how loss functions shape learning.

``course.losses`` holds every loss and its gradient in NumPy, one module per family;
``course.lessons`` holds each lesson's data, models and fits, one module per lesson;
``course.widgets`` holds each lesson's explorer (state, drawing, readout), same names;
``course.data`` holds the data sets lessons share (the digits) and label noise;
``course.gradcheck`` checks any gradient against finite differences;
``course.metrics`` has the hard metrics surrogate losses stand in for;
``course.torch_bridge`` wraps a loss as a ``torch.autograd.Function``;
``course.plots`` is the lessons' figure style;
``course.assignments`` holds the exercises' checks and the self-check;
``course.grading`` is the instructor's grader (``course-grade``).
"""

__version__ = "0.1.0"
