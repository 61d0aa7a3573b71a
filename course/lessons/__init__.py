"""Each lesson's data, models and fits: one module per lesson, named by its topic.

``basics`` (00), ``regression`` (01), ``classification`` (02), ``likelihood``
(03), ``structured`` (04), ``landscape`` (05), ``imbalance`` (06),
``surrogates`` (07), ``regularization`` (08), ``composite`` (09),
``generalization`` (10), ``diagnostics`` (11). Pure NumPy except the torch
half of the landscape lesson, loaded on first use. The lessons' widgets
(state, drawing, readout, explorer) live in :mod:`course.widgets` under the
same names; the data sets lessons share live in :mod:`course.data`.
"""
