"""Lesson 08's laboratory: penalized least squares, solved three ways.

The objective of the lesson, for a linear model ``X @ w`` without intercept,

.. math::
    J(w) = \\tfrac12\\,\\mathrm{MSE}(Xw, y) + \\lambda\\,P(w),
    \\qquad \\mathrm{MSE}(Xw, y) = \\tfrac1n \\lVert Xw - y \\rVert_2^2,

with ``P`` one of the penalties of :mod:`course.losses.regularization`:
``l2_penalty`` (ridge), ``l1_penalty`` (lasso) or ``elastic_net_penalty``.
This is exactly scikit-learn's scaling for ``Lasso(alpha=lam)`` and
``ElasticNet(alpha=lam, l1_ratio=r)``; ``Ridge`` minimizes
``||Xw - y||^2 + alpha ||w||^2``, which is ``2 n J`` with ``alpha = n * lam``.

* :func:`sparse_regression`: a small problem with a few relevant features
  and many irrelevant ones;
* :func:`ridge`: the closed form of the L2 problem;
* :func:`ista_step`, :func:`proximal_gradient`: proximal gradient descent
  (ISTA) for the L1 and elastic-net problems: exact zeros;
* :func:`subgradient_descent`: the plain (sub)gradient method on the same
  objective: weights hover around 0 and never land on it;
* :func:`regularization_path`: the solution over a grid of ``lam``;
* :func:`kfold_cv_errors`: choosing ``lam`` by k-fold cross-validation on the
  training set;
* :func:`train_with_weight_decay`: a small torch network trained with
  ``Adam(weight_decay=...)`` (L2 in the loss) or ``AdamW`` (decoupled weight
  decay), on inputs of different scales (:func:`scaled_features_data`).

Formulas of losses and penalties come from :mod:`course.losses`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from course import losses

__all__ = [
    "lesson_data", "two_feature_data", "holdout_mse", "penalty_fits", "GRID", "data_loss_grid",
    "PENALTIES", "sparse_regression", "data_loss", "data_loss_grad", "objective", "ridge",
    "lipschitz", "ista_step", "proximal_gradient", "subgradient_descent", "fit",
    "regularization_path", "kfold_cv_errors", "FEATURE_SCALES", "scaled_features_data",
    "train_with_weight_decay", "shrinkage_by_scale",
]

#: name -> l1_ratio of the elastic-net penalty (1: lasso, 0: ridge)
PENALTIES = {"L1 (lasso)": 1.0, "L2 (ridge)": 0.0, "elastic net": 0.5}


def _design(w, X, y):
    w = np.asarray(w, dtype=float)
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or w.shape != (X.shape[1],) or y.shape != (X.shape[0],):
        raise ValueError(
            f"need X of shape (n, d), w of shape (d,), y of shape (n,); got X {X.shape}, "
            f"w {w.shape}, y {y.shape}"
        )
    return w, X, y


def sparse_regression(n: int, n_features: int = 30, n_relevant: int = 5, noise: float = 1.0,
                      seed: int = 0, rho: float = 0.3):
    """``(X, y, w_true)``: y = X w_true + noise, with only ``n_relevant`` nonzero weights.

    Features are standard normal with correlation ``rho`` between neighbours
    (an AR(1) chain); the relevant weights are the first ``n_relevant``,
    with sizes from 3 down to 1 and alternating signs. ``w_true`` does not
    depend on ``seed``, so a second seed gives a test set of the same problem.
    """
    if not 0 < n_relevant <= n_features:
        raise ValueError("n_relevant must lie in [1, n_features]")
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, n_features))
    X = np.empty_like(z)
    X[:, 0] = z[:, 0]
    for j in range(1, n_features):
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho**2) * z[:, j]
    w_true = np.zeros(n_features)
    sizes = np.linspace(3.0, 1.0, n_relevant)
    w_true[:n_relevant] = sizes * np.where(np.arange(n_relevant) % 2 == 0, 1.0, -1.0)
    y = X @ w_true + noise * rng.standard_normal(n)
    return X, y, w_true


def data_loss(w, X, y) -> float:
    """Half the mean squared error, ``0.5 * mse_loss(X @ w, y)``."""
    w, X, y = _design(w, X, y)
    return 0.5 * float(losses.mse_loss(X @ w, y))


def data_loss_grad(w, X, y) -> np.ndarray:
    """Gradient of :func:`data_loss` in ``w``: ``X.T @ (X w - y) / n`` (chain rule on ``mse_loss_grad``)."""
    w, X, y = _design(w, X, y)
    return 0.5 * X.T @ losses.mse_loss_grad(X @ w, y)


def objective(w, X, y, lam: float, l1_ratio: float = 1.0) -> float:
    """``data_loss + lam * elastic_net_penalty(w, l1_ratio)`` (l1_ratio 1: lasso, 0: ridge)."""
    return data_loss(w, X, y) + lam * float(losses.elastic_net_penalty(w, l1_ratio))


def ridge(X, y, lam: float) -> np.ndarray:
    """Closed-form minimizer of ``0.5 MSE + lam * l2_penalty``: ``(X'X/n + lam I)^-1 X'y/n``."""
    _, X, y = _design(np.zeros(np.shape(X)[1]), X, y)
    n, d = X.shape
    return np.linalg.solve(X.T @ X / n + lam * np.eye(d), X.T @ y / n)


def lipschitz(X) -> float:
    """The Lipschitz constant of :func:`data_loss_grad`: the largest eigenvalue of ``X'X / n``."""
    X = np.asarray(X, dtype=float)
    return float(np.linalg.eigvalsh(X.T @ X / X.shape[0])[-1])


def ista_step(w, X, y, lr: float, lam: float) -> np.ndarray:
    r"""One proximal-gradient (ISTA) step on ``0.5 * mean((X w - y)^2) + lam * ||w||_1``.

    .. math:: w^+ = \operatorname{soft\_threshold}\big(w - \eta\,\tfrac1n X^\top(Xw - y),\ \eta\lambda\big)

    a gradient step of size ``lr`` (:math:`\eta`) on the data loss alone,
    then the proximal step of the penalty, which moves each weight
    ``lr * lam`` towards 0 and stops there.

    Reference: Beck & Teboulle (2009), "A fast iterative shrinkage-thresholding
    algorithm for linear inverse problems", eq. (1.4)-(1.5).
    """
    w, X, y = _design(w, X, y)
    if not (lr > 0 and lam >= 0):
        raise ValueError(f"need lr > 0 and lam >= 0, got lr={lr}, lam={lam}")
    return losses.soft_threshold(w - lr * data_loss_grad(w, X, y), lr * lam)


def _prox(v, lr, lam, l1_ratio):
    """Proximal operator of ``lr * lam * elastic_net_penalty(., l1_ratio)``."""
    return losses.soft_threshold(v, lr * lam * l1_ratio) / (1 + lr * lam * (1 - l1_ratio))


def proximal_gradient(X, y, lam: float, l1_ratio: float = 1.0, w0=None, n_steps: int = 5000,
                      tol: float = 1e-10) -> np.ndarray:
    """Minimize :func:`objective` by ISTA with step ``1 / lipschitz(X)``.

    Stops when no weight moves more than ``tol`` in one step. For
    ``l1_ratio = 1`` each step is :func:`ista_step`.
    """
    X = np.asarray(X, dtype=float)
    w = np.zeros(X.shape[1]) if w0 is None else np.array(w0, dtype=float)
    lr = 1.0 / lipschitz(X)
    for _ in range(n_steps):
        new = _prox(w - lr * data_loss_grad(w, X, y), lr, lam, l1_ratio)
        done = np.max(np.abs(new - w)) <= tol
        w = new
        if done:
            break
    return w


def subgradient_descent(X, y, lam: float, lr: float, n_steps: int, w0=None) -> np.ndarray:
    """Plain descent on the lasso objective with ``l1_penalty_grad`` (0 at 0): the path, (n_steps + 1, d)."""
    X = np.asarray(X, dtype=float)
    w = np.zeros(X.shape[1]) if w0 is None else np.array(w0, dtype=float)
    path = [w]
    for _ in range(n_steps):
        w = w - lr * (data_loss_grad(w, X, y) + lam * losses.l1_penalty_grad(w))
        path.append(w)
    return np.array(path)


def fit(X, y, lam: float, l1_ratio: float = 1.0, w0=None, tol: float = 1e-10) -> np.ndarray:
    """The minimizer of :func:`objective`: closed form for ridge, ISTA (to ``tol``) otherwise."""
    if l1_ratio == 0:
        return ridge(X, y, lam)
    return proximal_gradient(X, y, lam, l1_ratio, w0=w0, tol=tol)


def regularization_path(X, y, lams, l1_ratio: float = 1.0, tol: float = 1e-10) -> np.ndarray:
    """Solutions for each ``lam`` (computed from the largest down, warm-started): ``(len(lams), d)``."""
    lams = np.asarray(lams, dtype=float)
    order = np.argsort(lams)[::-1]
    coefs = np.empty((lams.size, np.shape(X)[1]))
    w = None
    for i in order:
        w = fit(X, y, lams[i], l1_ratio, w0=w, tol=tol)
        coefs[i] = w
    return coefs


def kfold_cv_errors(X, y, lams, k: int = 5, l1_ratio: float = 1.0, seed: int = 0,
                    tol: float = 1e-4) -> np.ndarray:
    r"""Validation MSE of each fold and each ``lam`` by k-fold cross-validation: ``(k, len(lams))``.

    The rows of the training set are shuffled (``seed``) and cut into ``k``
    folds :math:`F_1, \dots, F_k` of nearly equal size. For fold :math:`f`
    the path :func:`regularization_path` is fitted on the other folds and
    scored on :math:`F_f` with ``mse_loss``; the CV estimate is the mean over
    the folds,

    .. math:: \mathrm{CV}(\lambda) = \frac1k \sum_{f=1}^{k}
        \mathrm{MSE}\big(X_{F_f}\, w_\lambda^{(-f)},\ y_{F_f}\big),

    and the :math:`\lambda` to use is its minimizer. The test set is never
    touched. ``tol`` is the ISTA stopping tolerance, looser than
    :func:`proximal_gradient`'s default: on the lesson's problem it moves the
    CV errors by less than 0.01 and makes the 5 x 13 fits four times faster.

    Reference: Hastie, Tibshirani & Friedman, *The Elements of Statistical
    Learning*, 2nd ed., section 7.10 (cross-validation).
    """
    _, X, y = _design(np.zeros(np.shape(X)[1]), X, y)
    n = y.size
    if isinstance(k, bool) or int(k) != k or not 2 <= k <= n:
        raise ValueError(f"k must be an integer in [2, {n}], got {k}")
    folds = np.array_split(np.random.default_rng(seed).permutation(n), int(k))
    errors = np.empty((int(k), np.size(lams)))
    for f, held_out in enumerate(folds):
        kept = np.setdiff1d(np.arange(n), held_out)
        coefs = regularization_path(X[kept], y[kept], lams, l1_ratio, tol=tol)
        predictions = coefs @ X[held_out].T                       # (len(lams), fold size)
        targets = np.broadcast_to(y[held_out], predictions.shape)
        errors[f] = losses.mse_loss(predictions, targets, reduction="none").mean(axis=1)
    return errors


# the widget's fixed problems
N_TRAIN, N_TEST, TRAIN_SEED, TEST_SEED = 50, 2000, 0, 1


@lru_cache(maxsize=1)
def lesson_data():
    """``(X, y, w_true), (X_test, y_test)``: 50 training rows, 2,000 test rows, 30 features."""
    X, y, w_true = sparse_regression(N_TRAIN, seed=TRAIN_SEED)
    X_test, y_test, _ = sparse_regression(N_TEST, seed=TEST_SEED)
    return (X, y, w_true), (X_test, y_test)


@lru_cache(maxsize=1)
def two_feature_data():
    """A 2-feature problem with correlated features and true weights (2, 0.5): ``(X, y)``."""
    rng = np.random.default_rng(3)
    z = rng.standard_normal((40, 2))
    X = np.column_stack([z[:, 0], 0.6 * z[:, 0] + 0.8 * z[:, 1]])
    y = X @ np.array([2.0, 0.5]) + 0.5 * rng.standard_normal(40)
    return X, y


def holdout_mse(w) -> float:
    """Mean squared error of ``X_test @ w`` on the lesson's test set (``mse_loss``)."""
    _, (X_test, y_test) = lesson_data()
    return float(losses.mse_loss(X_test @ w, y_test))


@lru_cache(maxsize=256)
def penalty_fits(penalty: str, log_lam: float):
    """The 30-feature and the 2-feature fits at ``lam = 10**log_lam`` under ``penalty``; cached."""
    lam = 10.0**log_lam
    r = PENALTIES[penalty]
    (X, y, _), _ = lesson_data()
    X2, y2 = two_feature_data()
    return fit(X, y, lam, r), fit(X2, y2, lam, r)


GRID = np.linspace(-1.0, 3.0, 121), np.linspace(-1.5, 2.0, 106)


@lru_cache(maxsize=1)
def data_loss_grid():
    """The 2-feature problem's data loss on :data:`GRID` (for contour plots); cached."""
    X2, y2 = two_feature_data()
    a, b = np.meshgrid(*GRID)
    return np.array([[data_loss(np.array([u, v]), X2, y2) for u, v in zip(ra, rb)]
                     for ra, rb in zip(a, b)])


# ---------------------------------------------------------------- weight decay under Adam (torch)

#: the input scales of :func:`scaled_features_data`: four quiet, four ordinary, four loud features
FEATURE_SCALES = np.repeat([0.1, 1.0, 10.0], 4)


def scaled_features_data(seed: int = 0, n: int = 512):
    """``(X, y)``: a small nonlinear regression whose 12 inputs differ only in scale.

    ``Z`` is standard normal (n, 12); the target uses two features of each
    group, ``y = sin z0 + 0.3 z2 + 0.5 z1 z5 + 0.5 z4 + tanh z8 + 0.3 z9``
    plus noise of standard deviation 0.1; the inputs are ``X = Z * FEATURE_SCALES``,
    so features 0-3 are measured in a unit ten times too large (quiet), 8-11
    in one ten times too small (loud). A network can undo the scale with its
    first-layer weights, so the scale only changes the size of the gradients.
    """
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, FEATURE_SCALES.size))
    y = (np.sin(Z[:, 0]) + 0.3 * Z[:, 2] + 0.5 * Z[:, 1] * Z[:, 5] + 0.5 * Z[:, 4] + np.tanh(Z[:, 8])
         + 0.3 * Z[:, 9] + 0.1 * rng.standard_normal(n))
    return Z * FEATURE_SCALES, y


def train_with_weight_decay(optimizer: str, weight_decay: float, seed: int = 0, steps: int = 300,
                            lr: float = 0.01, hidden: int = 32, batch_size: int = 32) -> dict:
    r"""Train a 12-32-1 tanh network on :func:`scaled_features_data` with torch's Adam or AdamW.

    ``optimizer="adam"``: ``torch.optim.Adam(weight_decay=λ)``, which adds
    :math:`\lambda w` to the gradient, i.e. puts the L2 penalty
    :math:`\tfrac\lambda2\lVert w\rVert^2` in the loss; Adam then divides the
    whole gradient by :math:`\sqrt{\hat v}`, so the decay of a weight is
    :math:`\eta\lambda w/\sqrt{\hat v}`, small where the gradients are large.
    ``optimizer="adamw"``: ``torch.optim.AdamW(weight_decay=λ)``, which
    multiplies every weight by :math:`1 - \eta\lambda` outside the
    normalization (decoupled weight decay). The loss is the course's
    ``mse_loss`` through :func:`course.torch_bridge.as_torch_loss`; float64,
    one thread, mini-batches drawn with ``seed``.

    Returns a dict with ``first_layer`` (32, 12) weights, ``grad_rms`` (32, 12)
    the square root of Adam's second-moment estimate for them, and
    ``train_mse`` on the whole training set.

    Reference: Loshchilov & Hutter (2019), "Decoupled Weight Decay
    Regularization", ICLR, section 2 and Algorithm 2.
    """
    import torch

    from course.torch_bridge import as_torch_loss

    optimizers = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
    if optimizer not in optimizers:
        raise ValueError(f"optimizer must be 'adam' or 'adamw', got {optimizer!r}")
    if not weight_decay >= 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
    mse = as_torch_loss(losses.mse_loss, losses.mse_loss_grad)
    X, y = scaled_features_data(seed)
    X, y = torch.tensor(X), torch.tensor(y)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        net = torch.nn.Sequential(torch.nn.Linear(X.shape[1], hidden), torch.nn.Tanh(),
                                  torch.nn.Linear(hidden, 1)).double()
        opt = optimizers[optimizer](net.parameters(), lr=lr, weight_decay=weight_decay)
        batches = torch.Generator().manual_seed(seed)
        for _ in range(steps):
            rows = torch.randint(0, len(y), (batch_size,), generator=batches)
            loss = mse(net(X[rows]).squeeze(-1), y[rows])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            train_mse = float(losses.mse_loss(net(X).squeeze(-1).numpy(), y.numpy()))
        first = net[0].weight
        return {"first_layer": first.detach().numpy().copy(),
                "grad_rms": opt.state[first]["exp_avg_sq"].sqrt().numpy().copy(),
                "train_mse": train_mse}
    finally:
        torch.set_num_threads(threads)


def shrinkage_by_scale(first_layer, reference) -> np.ndarray:
    """Mean, over each group of :data:`FEATURE_SCALES`, of a feature's first-layer weight norm
    relative to ``reference`` (the same network trained without decay): (3,), quiet to loud."""
    ratio = np.linalg.norm(first_layer, axis=0) / np.linalg.norm(reference, axis=0)
    return np.array([ratio[FEATURE_SCALES == s].mean() for s in np.unique(FEATURE_SCALES)])
