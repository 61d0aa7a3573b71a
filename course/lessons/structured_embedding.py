"""Lesson 04, metric learning: a 2-D embedding of the digits trained with the triplet loss.

A small network maps each 8x8 digit (64 pixels) to a point in the plane and is
trained with :func:`course.losses.triplet_margin_loss`,

.. math:: \\ell = \\max\\big(0,\\; m + d(a, p) - d(a, n)\\big),

on triplets drawn from a random pool of training digits at every step. The
anchor's positive is another digit of its class; its negative is either

* ``"random"``: any digit of another class, or
* ``"semi-hard"``: the closest digit of another class that is still farther
  from the anchor than the positive (Schroff, Kalenichenko and Philbin 2015,
  "FaceNet", CVPR, section 3.2, https://arxiv.org/abs/1503.03832); where there
  is none, the farthest one, as TensorFlow Addons' ``triplet_semihard_loss``
  does.

The embedding is judged by the accuracy of a 5-nearest-neighbour vote on
held-out digits (scikit-learn's ``KNeighborsClassifier``).
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from course import losses
from course.data import digits
from course.lessons.optim import adam_step

NEGATIVES = ("random", "semi-hard")


def digits_split(seed: int = 0, n_train: int = 1000):
    """sklearn's digits shuffled with ``seed``: ``X_train, y_train, X_test, y_test``."""
    X, y = digits()
    if not 1 <= n_train < y.size:
        raise ValueError(f"n_train must lie in [1, {y.size}), got {n_train}")
    order = np.random.default_rng(seed).permutation(y.size)
    train, test = order[:n_train], order[n_train:]
    return X[train], y[train], X[test], y[test]


def init_embedding(hidden: int = 32, seed: int = 0) -> list[np.ndarray]:
    """``[W1, b1, W2, b2]``: 64 pixels -> ``hidden`` tanh units -> 2 coordinates."""
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, (64, hidden)) / 8.0, np.zeros(hidden),
            rng.uniform(-1, 1, (hidden, 2)) / np.sqrt(hidden), np.zeros(2)]


def embed(params, X) -> np.ndarray:
    """The 2-D embedding ``(N, 2)`` of the digits ``X`` (N, 64)."""
    W1, b1, W2, b2 = params
    return np.tanh(np.asarray(X, dtype=np.float64) @ W1 + b1) @ W2 + b2


def mine_triplets(embeddings, labels, negatives: str, rng) -> tuple[np.ndarray, ...]:
    """Indices ``(anchor, positive, negative)``, one triplet per point that has a positive.

    ``negatives`` is ``"random"`` or ``"semi-hard"`` (see the module's docstring).
    """
    if negatives not in NEGATIVES:
        raise ValueError(f"negatives must be one of {NEGATIVES}, got {negatives!r}")
    labels = np.asarray(labels)
    same = labels[:, None] == labels[None, :]
    np.fill_diagonal(same, False)
    other = labels[:, None] != labels[None, :]
    anchor = np.nonzero(same.any(axis=1))[0]
    positive = np.where(same[anchor], rng.random(same[anchor].shape), -1.0).argmax(axis=1)
    if negatives == "random":
        negative = np.where(other[anchor], rng.random(other[anchor].shape), -1.0).argmax(axis=1)
        return anchor, positive, negative
    E = np.asarray(embeddings, dtype=np.float64)
    squared = (E * E).sum(axis=1)
    dist = np.sqrt(np.maximum(squared[anchor, None] + squared[None, :] - 2 * E[anchor] @ E.T, 0.0))
    d_ap = dist[np.arange(anchor.size), positive]
    farther = np.where(other[anchor] & (dist > d_ap[:, None]), dist, np.inf)
    negative = farther.argmin(axis=1)
    none = ~np.isfinite(farther.min(axis=1))
    negative[none] = np.where(other[anchor[none]], dist[none], -np.inf).argmax(axis=1)
    return anchor, positive, negative


def _embedding_grads(params, X, d_embedding):
    W1, b1, W2, _ = params
    hidden = np.tanh(X @ W1 + b1)
    d_hidden = (d_embedding @ W2.T) * (1 - hidden * hidden)
    return [X.T @ d_hidden, d_hidden.sum(0), hidden.T @ d_embedding, d_embedding.sum(0)]


def train_embedding(negatives: str, seed: int = 0, steps: int = 100, lr: float = 0.03,
                    pool: int = 200, margin: float = 1.0, hidden: int = 32) -> dict:
    """Train the embedding on triplets mined from a random pool of ``pool`` digits a step.

    Each step sums the triplet loss over the pool's triplets and takes one Adam
    step. Returns ``params``, ``initial`` (the untrained weights) and
    ``active``, the fraction of each step's triplets with a nonzero loss
    (the only ones that give a gradient).
    """
    X, y, _, _ = digits_split(seed)
    rng = np.random.default_rng(seed)
    params = init_embedding(hidden, seed)
    initial = [p.copy() for p in params]
    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
    active = np.empty(steps)
    with threadpool_limits(1):
        for step in range(1, steps + 1):
            batch = rng.choice(y.size, pool, replace=False)
            E = embed(params, X[batch])
            a, p, n = mine_triplets(E, y[batch], negatives, rng)
            per_triplet = losses.triplet_margin_loss(E[a], E[p], E[n], margin=margin,
                                                     reduction="none")
            active[step - 1] = (per_triplet > 0).mean()
            g_a, g_p, g_n = losses.triplet_margin_loss_grad(E[a], E[p], E[n], margin=margin,
                                                            reduction="sum")
            d_embedding = np.zeros_like(E)
            for index, g in ((a, g_a), (p, g_p), (n, g_n)):
                np.add.at(d_embedding, index, g)
            adam_step(params, _embedding_grads(params, X[batch], d_embedding), moments, step, lr)
    return {"params": params, "initial": initial, "active": active, "negatives": negatives,
            "seed": seed}


def knn_accuracy(params, seed: int = 0, k: int = 5) -> float:
    """Accuracy of a ``k``-nearest-neighbour vote in the embedding on the held-out digits."""
    from sklearn.neighbors import KNeighborsClassifier

    X, y, X_test, y_test = digits_split(seed)
    vote = KNeighborsClassifier(n_neighbors=k).fit(embed(params, X), y)
    return float(vote.score(embed(params, X_test), y_test))


def mining_runs(seeds=(0, 1, 2), **options) -> dict:
    """Both kinds of negatives over ``seeds``: ``knn`` (2, seeds), ``knn_before`` (seeds,),
    ``active`` (2, seeds, steps) and the ``runs`` themselves keyed by ``(negatives, seed)``."""
    runs = {(kind, s): train_embedding(kind, s, **options) for kind in NEGATIVES for s in seeds}
    return {
        "knn": np.array([[knn_accuracy(runs[kind, s]["params"], s) for s in seeds]
                         for kind in NEGATIVES]),
        "knn_before": np.array([knn_accuracy(runs[NEGATIVES[0], s]["initial"], s) for s in seeds]),
        "active": np.array([[runs[kind, s]["active"] for s in seeds] for kind in NEGATIVES]),
        "runs": runs,
    }
