"""Reading losses to diagnose training (lesson 11).

Pure NumPy helpers:

* :func:`ema_smooth`: the bias-corrected exponential moving average used to
  read a noisy mini-batch loss curve;
* :func:`per_example_cross_entropy` and :func:`margins`: one loss (or margin)
  per example, from :func:`course.losses.cross_entropy` with
  ``reduction="none"``;
* :func:`precision_at_k` and :func:`area_under_margin`: ranking examples to
  find mislabeled ones (Pleiss et al. 2020);
* :func:`digits_split` and :func:`train_with_history`:
  a small softmax-regression or one-hidden-layer ReLU network on sklearn's
  digits, trained by mini-batch SGD with momentum, recording the train and
  validation loss after every epoch, every mini-batch loss and every
  example's loss and margin;
* :func:`diagnose`: names the regime a pair of loss curves shows;
* :func:`dead_unit_fraction`: hidden ReLU units that no input switches on;
* :func:`shift_right`, :func:`mean_loss_by_group`, :func:`shifted_slice_run`:
  the mean loss per class and per slice of the data.

References: Pleiss, Zhang, Elenberg, Weinberger (2020), "Identifying
Mislabeled Data using the Area Under the Margin Ranking", NeurIPS;
Kingma & Ba (2015), "Adam", section 3 (bias correction of a moving average).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from course import losses
from course.data import digits, flip_fraction_of_labels

__all__ = [
    "ema_smooth", "per_example_cross_entropy", "margins", "precision_at_k", "area_under_margin",
    "digits_split", "train_with_history", "logits", "diagnose",
    "lesson_problem", "lr_history", "dead_unit_fraction", "shift_right", "mean_loss_by_group",
    "shifted_slice_run",
]


def ema_smooth(values, beta: float = 0.9) -> np.ndarray:
    r"""Bias-corrected exponential moving average of a 1-D sequence.

    .. math::
        m_0 = 0,\quad m_t = \beta\, m_{t-1} + (1-\beta)\, x_t,\quad
        s_t = \frac{m_t}{1 - \beta^t}\qquad (t = 1, \dots, n)

    The correction :math:`1/(1-\beta^t)` removes the pull towards the
    starting value 0 (Kingma & Ba 2015, section 3), so ``s_1 = x_1`` and a
    constant sequence is returned unchanged. ``beta = 0`` returns the values;
    larger ``beta`` averages over about :math:`1/(1-\beta)` recent values.

    Parameters
    ----------
    values : array_like, shape (n,)
        Finite numbers (float32 stays float32, anything else becomes float64).
    beta : float in [0, 1)
        Weight of the past.

    Returns
    -------
    ndarray, shape (n,)
    """
    x = np.asarray(values)
    x = x if x.dtype == np.float32 else x.astype(np.float64)
    if x.ndim != 1:
        raise ValueError(f"values must be 1-D, got shape {x.shape}")
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"beta must lie in [0, 1), got {beta}")
    out = np.empty_like(x)
    m = 0.0
    for t, value in enumerate(x.astype(np.float64), start=1):
        m = beta * m + (1.0 - beta) * value
        out[t - 1] = m / (1.0 - beta**t)
    return out


def _check_logits_labels(logits, labels) -> tuple[np.ndarray, np.ndarray]:
    z = np.asarray(logits)
    z = z if z.dtype == np.float32 else z.astype(np.float64)
    y = np.asarray(labels)
    if z.ndim != 2:
        raise ValueError(f"logits must have shape (N, C), got {z.shape}")
    if y.shape != (z.shape[0],):
        raise ValueError(f"labels must have shape ({z.shape[0]},), got {y.shape}")
    if y.dtype.kind not in "iu":
        raise ValueError(f"labels must be integers, got dtype {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= z.shape[1]):
        raise ValueError(f"labels must lie in [0, {z.shape[1] - 1}]")
    return z, y


def per_example_cross_entropy(logits, labels) -> np.ndarray:
    r"""Softmax cross-entropy of each row: :math:`\ell_i = \log\sum_c e^{z_{ic}} - z_{i y_i}`.

    ``course.losses.cross_entropy(logits, labels, reduction="none")`` with
    its shape checks: ``logits`` (N, C), integer ``labels`` (N,) in
    ``[0, C)``. Stable for logits of any size (log-sum-exp).
    """
    z, y = _check_logits_labels(logits, labels)
    return losses.cross_entropy(z, y, reduction="none")


def margins(logits, labels) -> np.ndarray:
    r"""Margin of each row: its assigned label's logit minus the largest other logit.

    :math:`m_i = z_{i y_i} - \max_{c \ne y_i} z_{ic}`; negative where the
    model disagrees with the label (Pleiss et al. 2020, eq. 1).
    """
    z, y = _check_logits_labels(logits, labels)
    rows = np.arange(z.shape[0])
    assigned = z[rows, y]
    others = z.copy()
    others[rows, y] = -np.inf
    return assigned - others.max(axis=1)


def area_under_margin(margin_history) -> np.ndarray:
    """AUM: each example's margin averaged over the recorded epochs (axis 0).

    ``margin_history`` has shape (epochs, N); low AUM flags a likely
    mislabeled example (Pleiss et al. 2020).
    """
    history = np.asarray(margin_history, dtype=np.float64)
    if history.ndim != 2 or history.shape[0] == 0:
        raise ValueError(f"margin_history must have shape (epochs >= 1, N), got {history.shape}")
    return history.mean(axis=0)


def precision_at_k(scores, is_flipped, k: int) -> float:
    """Fraction of flipped examples among the ``k`` highest scores.

    Ranks by ``scores`` from highest to lowest, ties broken by lower index
    first (a stable sort of ``-scores``). ``is_flipped`` is a boolean (or
    0/1) array of the same shape (N,); ``k`` is an integer in ``[1, N]``.
    Picking at random gives, on average, the fraction flipped.
    """
    s = np.asarray(scores, dtype=np.float64)
    flipped = np.asarray(is_flipped)
    if s.ndim != 1:
        raise ValueError(f"scores must be 1-D, got shape {s.shape}")
    if flipped.shape != s.shape:
        raise ValueError(f"is_flipped must have shape {s.shape}, got {flipped.shape}")
    if not np.all(np.isin(flipped, (0, 1))):
        raise ValueError("is_flipped must hold booleans (or 0 and 1)")
    if isinstance(k, bool) or int(k) != k or not 1 <= k <= s.size:
        raise ValueError(f"k must be an integer in [1, {s.size}], got {k}")
    top = np.argsort(-s, kind="stable")[: int(k)]
    return float(flipped.astype(bool)[top].mean())


def digits_split(n_train: int, n_val: int, seed: int = 0):
    """sklearn's 8x8 digits, pixels in [0, 1], shuffled and split: ``X, y, X_val, y_val``."""
    X, y = digits()
    if n_train < 1 or n_val < 0 or n_train + n_val > y.size:
        raise ValueError(f"need 1 <= n_train and n_train + n_val <= {y.size}")
    order = np.random.default_rng(seed).permutation(y.size)
    train, val = order[:n_train], order[n_train:n_train + n_val]
    return X[train], y[train], X[val], y[val]


def _init(sizes, seed, scale: float = 1.0, hidden_bias: float = 0.0):
    """Uniform +-1/sqrt(fan_in), like torch.nn.Linear, times ``scale``; hidden biases plus ``hidden_bias``."""
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        params += [scale * rng.uniform(-bound, bound, (fan_in, fan_out)),
                   scale * rng.uniform(-bound, bound, fan_out)]
    for b in params[1:-2:2]:
        b += hidden_bias
    return params


def _forward(params, X):
    if len(params) == 2:
        return X @ params[0] + params[1], None
    W1, b1, W2, b2 = params
    hidden = np.maximum(X @ W1 + b1, 0.0)
    return hidden @ W2 + b2, hidden


def logits(params, X) -> np.ndarray:
    """The logits (N, C) of a model returned by :func:`train_with_history` (its ``params``)."""
    return _forward(params, np.asarray(X, dtype=np.float64))[0]


def _loss_and_gradients(params, X, y):
    """Mean cross-entropy of a batch and its gradient w.r.t. each parameter (backpropagation)."""
    logits, hidden = _forward(params, X)
    loss = losses.cross_entropy(logits, y)
    g = losses.cross_entropy_grad(logits, y, reduction="mean")
    if hidden is None:
        return loss, [X.T @ g, g.sum(axis=0)]
    W2 = params[2]
    g_hidden = (g @ W2.T) * (hidden > 0)
    return loss, [X.T @ g_hidden, g_hidden.sum(axis=0), hidden.T @ g, g.sum(axis=0)]


def train_with_history(X, y, X_val, y_val, *, hidden: int = 32, lr: float = 0.1,
                       epochs: int = 60, batch_size: int = 32, momentum: float = 0.9,
                       seed: int = 0, n_classes: int = 10, init_scale: float = 1.0,
                       hidden_bias: float = 0.0) -> dict:
    """Train softmax regression (``hidden=0``) or a one-hidden-layer ReLU net, recording losses.

    Mini-batch SGD with (heavy-ball) momentum on the mean
    ``course.losses.cross_entropy``; ``batch_size >= len(y)`` is full-batch
    gradient descent. The weights start uniform in :math:`\\pm 1/\\sqrt{\\text{fan-in}}`
    (torch's ``nn.Linear``) times ``init_scale``, and ``hidden_bias`` is added
    to the hidden layer's biases (lesson 11 breaks the start on purpose with
    both). Returns a dict of

    * ``train_loss``, ``val_loss``: shape (epochs + 1,), the mean loss on the
      whole training set (its own, possibly noisy, labels) and on the
      validation set, before training and after each epoch;
    * ``batch_loss``: shape (steps,), the loss of each mini-batch as it was
      used;
    * ``example_loss``, ``example_margin``: shape (epochs, N), each training
      example's cross-entropy and margin after each epoch;
    * ``params``: the final weights ``[W1, b1, W2, b2]`` (or ``[W, b]``),
      for :func:`logits`;
    * ``diverged``: whether the loss stopped being finite (the remaining
      entries are then ``inf``).
    """
    X, X_val = np.asarray(X, dtype=np.float64), np.asarray(X_val, dtype=np.float64)
    y, y_val = np.asarray(y), np.asarray(y_val)
    sizes = (X.shape[1], n_classes) if hidden == 0 else (X.shape[1], hidden, n_classes)
    if not init_scale > 0:
        raise ValueError(f"init_scale must be > 0, got {init_scale}")
    params = _init(sizes, seed, init_scale, hidden_bias)
    velocity = [np.zeros_like(p) for p in params]
    rng = np.random.default_rng(seed + 1)
    n = y.size
    steps_per_epoch = -(-n // batch_size)
    train_loss = np.full(epochs + 1, np.inf)
    val_loss = np.full(epochs + 1, np.inf)
    batch_loss = np.full(epochs * steps_per_epoch, np.inf)
    example_loss = np.full((epochs, n), np.inf)
    example_margin = np.full((epochs, n), -np.inf)
    diverged = False
    from threadpoolctl import threadpool_limits

    # one BLAS thread: these matrices are tiny, and threads only fight over a loaded machine
    with np.errstate(all="ignore"), threadpool_limits(1):
        def record(epoch):
            logits = _forward(params, X)[0]
            per_example = losses.cross_entropy(logits, y, reduction="none")
            train_loss[epoch] = per_example.mean()
            val_loss[epoch] = losses.cross_entropy(_forward(params, X_val)[0], y_val)
            if epoch > 0:
                example_loss[epoch - 1] = per_example
                example_margin[epoch - 1] = margins(logits, y)
            return np.isfinite(train_loss[epoch]) and train_loss[epoch] < 1e6

        record(0)
        step = 0
        for epoch in range(1, epochs + 1):
            order = rng.permutation(n)
            for start in range(0, n, batch_size):
                batch = order[start:start + batch_size]
                batch_loss[step], grads = _loss_and_gradients(params, X[batch], y[batch])
                step += 1
                for p, v, g in zip(params, velocity, grads):
                    v *= momentum
                    v += g
                    p -= lr * v
            if not record(epoch):
                diverged = True
                train_loss[epoch:] = val_loss[epoch:] = np.inf
                batch_loss[step:] = np.inf
                break
    return {"train_loss": train_loss, "val_loss": val_loss, "batch_loss": batch_loss,
            "example_loss": example_loss, "example_margin": example_margin,
            "params": params, "diverged": diverged, "steps_per_epoch": steps_per_epoch}


def diagnose(train_loss, val_loss, slow_fraction: float = 0.5, rise: float = 0.05) -> tuple[str, int]:
    """Name the regime a pair of per-epoch loss curves shows; returns ``(regime, epoch)``.

    In this order:

    * ``"diverging"``: a loss is not finite, or the final training loss
      exceeds the initial one (``epoch`` = first epoch above the start);
    * ``"unstable"``: the training loss ends below its start but jumped above
      it on the way (``epoch`` = the first such epoch): the step size is near
      the edge of divergence;
    * ``"too slow"``: the training loss fell by less than ``slow_fraction``
      of its initial value (``epoch`` = last epoch);
    * ``"overfitting"``: the validation loss ends more than ``rise`` (relative)
      above its minimum (``epoch`` = the epoch of that minimum, where early
      stopping would have stopped);
    * ``"good fit"`` otherwise (``epoch`` = the epoch of the lowest validation loss).
    """
    train, val = np.asarray(train_loss, dtype=float), np.asarray(val_loss, dtype=float)
    if train.ndim != 1 or val.shape != train.shape or train.size < 2:
        raise ValueError("train_loss and val_loss must be 1-D of the same length >= 2")
    last = train.size - 1
    if not (np.all(np.isfinite(train)) and np.all(np.isfinite(val))) or train[-1] > train[0]:
        above = np.flatnonzero(~np.isfinite(train) | (train > train[0]))
        return "diverging", int(above[0]) if above.size else last
    if np.any(train > train[0]):
        return "unstable", int(np.flatnonzero(train > train[0])[0])
    if train[-1] > (1 - slow_fraction) * train[0]:
        return "too slow", last
    best = int(np.argmin(val))
    if val[-1] > (1 + rise) * val[best]:
        return "overfitting", best
    return "good fit", best


# the learning-rate widget's fixed problem
N_TRAIN, N_VAL, FLIP_FRACTION, EPOCHS, HIDDEN = 300, 500, 0.2, 150, 64


@lru_cache(maxsize=1)
def lesson_problem():
    """The learning-rate widget's data: ``X, noisy_y, X_val, y_val`` (300 training digits, 20 % flipped)."""
    X, y, X_val, y_val = digits_split(N_TRAIN, N_VAL, seed=1)
    noisy, _ = flip_fraction_of_labels(y, FLIP_FRACTION, 10, seed=0)
    return X, noisy, X_val, y_val


@lru_cache(maxsize=64)
def lr_history(log10_lr: float) -> dict:
    """Lesson 11's widget problem trained at ``lr = 10 ** log10_lr`` (cached)."""
    X, y, X_val, y_val = lesson_problem()
    return train_with_history(X, y, X_val, y_val, hidden=HIDDEN, lr=10.0**log10_lr, epochs=EPOCHS,
                              batch_size=N_TRAIN, momentum=0.9, seed=0)


# ------------------------------------------------- a bad start, and losses per class and per slice

def dead_unit_fraction(params, X) -> float:
    """Fraction of hidden ReLU units that are inactive (pre-activation <= 0) on every row of ``X``.

    Such a unit outputs 0 for every input and receives a zero gradient, so
    gradient descent can never revive it. ``params`` as returned by
    :func:`train_with_history` with ``hidden > 0``.
    """
    if len(params) != 4:
        raise ValueError("params must be [W1, b1, W2, b2] of a network with a hidden layer")
    W1, b1 = params[0], params[1]
    pre = np.asarray(X, dtype=np.float64) @ W1 + b1
    return float(np.mean(np.all(pre <= 0, axis=0)))


def shift_right(images, pixels: int = 2) -> np.ndarray:
    """8x8 digit images (N, 64) moved ``pixels`` columns to the right, blank columns filled with 0."""
    X = np.asarray(images, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 64:
        raise ValueError(f"images must have shape (N, 64), got {X.shape}")
    if isinstance(pixels, bool) or int(pixels) != pixels or not 0 <= pixels < 8:
        raise ValueError(f"pixels must be an integer in [0, 7], got {pixels}")
    square = X.reshape(-1, 8, 8)
    out = np.zeros_like(square)
    out[:, :, int(pixels):] = square[:, :, :8 - int(pixels)]
    return out.reshape(-1, 64)


def mean_loss_by_group(per_example_loss, groups):
    r"""Mean loss of each group (a class, a slice of the data): ``(names, means, counts)``.

    .. math:: \bar\ell_g = \frac{1}{|G_g|}\sum_{i \in G_g} \ell_i

    The overall mean is the count-weighted average of these, so a small
    group with a large mean barely moves it: this is how a hard
    subpopulation hides in an average. Groups come out sorted by name.
    Reference: Chung et al. (2019), "Slice Finder: Automated data slicing
    for model validation", ICDE (slices ranked by their loss).
    """
    loss = np.asarray(per_example_loss, dtype=np.float64)
    groups = np.asarray(groups)
    if loss.ndim != 1 or loss.size == 0:
        raise ValueError(f"per_example_loss must be 1-D and non-empty, got shape {loss.shape}")
    if groups.shape != loss.shape:
        raise ValueError(f"groups must have shape {loss.shape}, got {groups.shape}")
    names, index, counts = np.unique(groups, return_inverse=True, return_counts=True)
    sums = np.bincount(index.ravel(), weights=loss, minlength=names.size)
    return names, sums / counts, counts


def shifted_slice_run(seed: int = 0, train_share: float = 0.1, val_share: float = 0.2,
                      epochs: int = 40) -> dict:
    """Lesson 11's slice experiment: clean digits, a random slice of them shifted 2 pixels right.

    1,497 training and 300 validation digits (:func:`digits_split` with
    ``seed``); a random ``train_share`` of the training images and
    ``val_share`` of the validation images (drawn with ``seed + 100``) go
    through :func:`shift_right`. The network of :func:`train_with_history`
    (64 hidden units, lr 0.1, momentum 0.9, batches of 64) trains for
    ``epochs``. Returns ``val_loss`` (each validation digit's cross-entropy),
    ``val_correct``, ``val_labels``, ``val_shifted`` (the slice mask) and
    ``train_shifted``.
    """
    X, y, X_val, y_val = digits_split(1497, 300, seed=seed)
    pick = np.random.default_rng(seed + 100)
    shifted, shifted_val = pick.random(y.size) < train_share, pick.random(y_val.size) < val_share
    X, X_val = X.copy(), X_val.copy()
    X[shifted], X_val[shifted_val] = shift_right(X[shifted]), shift_right(X_val[shifted_val])
    run = train_with_history(X, y, X_val, y_val, hidden=64, lr=0.1, epochs=epochs, batch_size=64,
                             momentum=0.9, seed=seed)
    val_logits = logits(run["params"], X_val)
    return {"val_loss": losses.cross_entropy(val_logits, y_val, reduction="none"),
            "val_correct": val_logits.argmax(axis=1) == y_val, "val_labels": y_val,
            "val_shifted": shifted_val, "train_shifted": shifted}
