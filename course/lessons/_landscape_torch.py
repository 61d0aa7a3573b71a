"""The torch half of :mod:`course.lessons.landscape`: a small MLP on sklearn's digits.

Parameters are a list ``[W1, b1, W2, b2, ...]`` with a leading *copies*
axis: ``W_k`` has shape ``(S, out, in)`` (PyTorch's ``(out, in)`` layout
per copy) and ``b_k`` shape ``(S, out)``. ``S`` networks, one per seed, then
train in one batched matrix product per layer, which is several times faster
than ``S`` separate loops on a small CPU, and each copy's result is exactly
what it would be alone (its own initialisation and its own minibatches).

Sharpness is the top eigenvalue of the Hessian of the full training loss,
found by power iteration on Hessian-vector products (Pearlmutter 1994:
``H v`` is the gradient of ``∇L · v``, one double backward pass). Because
the copies do not interact, the Hessian of the summed loss is block
diagonal and one pass gives every copy's product at once.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from course import data

DIGITS_SIZES = (64, 32, 32, 10)
Params = list  # [W1, b1, W2, b2, ...], each with a leading copies axis


def digits_data(test_size: int = 540, seed: int = 0) -> dict:
    """The digits of :mod:`course.data` (pixels in [0, 1]), a stratified split.

    Returns float32 ``X_train`` (1257, 64), ``X_test`` (540, 64) and int64 labels.
    """
    from sklearn.model_selection import train_test_split

    X, y = data.digits()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=seed, stratify=y)
    as_x = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    return {"X_train": as_x(X_train), "y_train": torch.tensor(y_train),
            "X_test": as_x(X_test), "y_test": torch.tensor(y_test)}


def init_mlp(seeds: Sequence[int] | int = 0, sizes: Sequence[int] = DIGITS_SIZES) -> Params:
    """One MLP per seed, stacked; each initialised like ``torch.nn.Linear`` (uniform ±1/√fan_in)."""
    seeds = [seeds] if isinstance(seeds, int) else list(seeds)
    copies = []
    for seed in seeds:
        generator = torch.Generator().manual_seed(seed)
        layers = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            bound = 1.0 / np.sqrt(fan_in)
            layers.append((torch.rand(fan_out, fan_in, generator=generator) * 2 - 1) * bound)
            layers.append((torch.rand(fan_out, generator=generator) * 2 - 1) * bound)
        copies.append(layers)
    return [torch.stack([layers[k] for layers in copies]) for k in range(len(copies[0]))]


def copy_of(params: Params, index: int | slice) -> Params:
    """Copies ``index`` of a stack of networks (an int keeps a copies axis of length 1)."""
    index = slice(index, index + 1) if isinstance(index, int) else index
    return [p[index].detach().clone() for p in params]


def mlp_logits(params: Params, X: torch.Tensor) -> torch.Tensor:
    """Logits of every copy: ``X`` is ``(n, d)`` (shared) or ``(S, n, d)``; out ``(S, n, C)``."""
    h = X if X.dim() == 3 else X.expand(params[0].shape[0], *X.shape)
    for k in range(0, len(params), 2):
        h = torch.baddbmm(params[k + 1].unsqueeze(1), h, params[k].transpose(1, 2))
        if k < len(params) - 2:
            h = torch.relu(h)
    return h


def _per_copy_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    S, n, C = logits.shape
    y = y if y.dim() == 2 else y.expand(S, n)
    return F.cross_entropy(logits.reshape(S * n, C), y.reshape(S * n), reduction="none").view(S, n).mean(1)


def mlp_loss(params: Params, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of each copy on ``(X, y)``: shape ``(S,)``."""
    return _per_copy_loss(mlp_logits(params, X), y)


def mlp_accuracy(params: Params, X: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """Fraction of ``y`` each copy classifies correctly: shape ``(S,)``."""
    with torch.no_grad():
        return (mlp_logits(params, X).argmax(-1) == y).float().mean(1).numpy()


def train_mlp(params: Params, X: torch.Tensor, y: torch.Tensor, batch_size: int, steps: int,
              lr: float = 0.1, seeds: Sequence[int] | int = 0) -> Params:
    """Plain SGD (no momentum) on every copy at once; returns new, trained parameters.

    ``batch_size >= len(X)`` means full-batch gradient descent. Otherwise
    copy ``s`` draws its minibatches (with replacement) from its own
    generator seeded by ``seeds[s]``, so a copy's run does not depend on
    which other copies train beside it.
    """
    params = [p.detach().clone().requires_grad_(True) for p in params]
    S, n = params[0].shape[0], X.shape[0]
    seeds = [seeds] * S if isinstance(seeds, int) else list(seeds)
    if len(seeds) != S:
        raise ValueError(f"seeds must name one seed per copy ({S}), got {len(seeds)}")
    full = batch_size >= n
    if not full:
        batches = torch.stack([
            torch.randint(0, n, (steps, batch_size), generator=torch.Generator().manual_seed(10_000 + s))
            for s in seeds], dim=1)  # (steps, S, batch)
    for step in range(steps):
        if full:
            loss = mlp_loss(params, X, y).sum()
        else:
            index = batches[step]
            loss = mlp_loss(params, X[index], y[index]).sum()
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p -= lr * g
    return [p.detach() for p in params]


def _dot(a: Params, b: Params) -> torch.Tensor:
    """Per-copy inner product of two parameter lists: shape ``(S,)``."""
    return sum((x * z).flatten(1).sum(1) for x, z in zip(a, b))


def _scale(vector: Params, factor: torch.Tensor) -> Params:
    return [v * factor.view(-1, *([1] * (v.dim() - 1))) for v in vector]


def mlp_gradient(params: Params, X: torch.Tensor, y: torch.Tensor) -> Params:
    """Gradient of each copy's mean loss on ``(X, y)``, shaped like ``params``."""
    params = [p.detach().requires_grad_(True) for p in params]
    return list(torch.autograd.grad(mlp_loss(params, X, y).sum(), params))


def hessian_vector_product(params: Params, X: torch.Tensor, y: torch.Tensor, vector: Params) -> Params:
    """``H v`` for each copy's training loss, by double backward (no Hessian is formed)."""
    params = [p.detach().requires_grad_(True) for p in params]
    grads = torch.autograd.grad(mlp_loss(params, X, y).sum(), params, create_graph=True)
    return list(torch.autograd.grad(grads, params, vector))


def sharpness(params: Params, X: torch.Tensor, y: torch.Tensor, iterations: int = 20,
              seed: int = 0, history: bool = False):
    """Top Hessian eigenvalue of each copy's loss on ``(X, y)``, by power iteration on ``H v``.

    Builds the gradient graph once and reuses it for every product. Returns a
    NumPy array ``(S,)``; with ``history=True`` also the ``(iterations, S)``
    estimates, to see convergence. (At a minimum the Hessian is positive
    semi-definite, so the largest-magnitude eigenvalue is the top one.)
    """
    params = [p.detach().requires_grad_(True) for p in params]
    grads = torch.autograd.grad(mlp_loss(params, X, y).sum(), params, create_graph=True)
    generator = torch.Generator().manual_seed(seed)
    v = [torch.randn(p.shape, generator=generator, dtype=p.dtype) for p in params]
    v = _scale(v, 1 / _dot(v, v).sqrt())
    estimates = []
    for _ in range(iterations):
        hv = torch.autograd.grad(grads, params, v, retain_graph=True)
        estimates.append(_dot(hv, v).detach())
        v = _scale([h.detach() for h in hv], 1 / _dot(hv, hv).detach().sqrt())
    top = estimates[-1].numpy()
    return (top, torch.stack(estimates).numpy()) if history else top


def random_direction(params: Params, seed: int = 0) -> Params:
    """A Gaussian direction with the shape (and dtype) of ``params``."""
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(p.shape, generator=generator, dtype=p.dtype) for p in params]


def filter_normalize_direction(direction: Params, params: Params) -> Params:
    """Li et al. (2018) filter normalisation for a stacked MLP; bias directions set to zero.

    Each row ``W[s, o, :]`` (the weights into unit ``o``) of the direction is
    rescaled to the norm of the same row of the parameters. Biases get no
    direction, as in the paper's code (its ``ignore='biasbn'`` option).
    """
    out = []
    for k, (d, p) in enumerate(zip(direction, params)):
        if k % 2:
            out.append(torch.zeros_like(d))
        else:
            out.append(d / (d.norm(dim=-1, keepdim=True) + 1e-10) * p.norm(dim=-1, keepdim=True))
    return out


def _shifted(params: Params, *moves) -> Params:
    """``params + sum(a * d for a, d in moves)``."""
    out = [p.clone() for p in params]
    for alpha, direction in moves:
        for o, d in zip(out, direction):
            o += alpha * d
    return out


def interpolation_losses(start: Params, end: Params, alphas, X, y) -> np.ndarray:
    """Loss along the straight line ``(1 - α) start + α end`` (Goodfellow et al. 2015)."""
    step = [e - s for s, e in zip(start, end)]
    with torch.no_grad():
        return np.array([float(mlp_loss(_shifted(start, (float(a), step)), X, y)[0]) for a in alphas])


def slice_1d(params: Params, direction: Params, alphas, X, y) -> np.ndarray:
    """Loss at ``params + α d`` for each ``α`` (one copy)."""
    with torch.no_grad():
        return np.array([float(mlp_loss(_shifted(params, (float(a), direction)), X, y)[0])
                         for a in alphas])


def slice_2d(params: Params, d1: Params, d2: Params, alphas, betas, X, y) -> np.ndarray:
    """Loss at ``params + α d1 + β d2`` on a grid: shape ``(len(betas), len(alphas))``.

    A plain loop over grid points, with one saving: the first layer is linear
    in ``(α, β)``, so its pre-activations are ``X W1ᵀ + α X D1ᵀ + β X E1ᵀ``
    (plus biases), three products computed once. Measured on 1,257 points,
    this beat both the naive loop and ``torch.func.vmap`` batching (see
    ``benchmarks/bench_landscape.py``).
    """
    if params[0].shape[0] != 1:
        raise ValueError("slice_2d takes one network (a copies axis of length 1)")
    W, D, E = params[0][0], d1[0][0], d2[0][0]
    b, db, eb = params[1][0], d1[1][0], d2[1][0]
    rest = [p[0] for p in params[2:]]
    rest1, rest2 = [d[0] for d in d1[2:]], [d[0] for d in d2[2:]]
    out = np.empty((len(betas), len(alphas)))
    with torch.no_grad():
        z0, za, zb = F.linear(X, W, b), F.linear(X, D, db), F.linear(X, E, eb)
        for j, beta in enumerate(betas):
            z_row = z0 + float(beta) * zb
            layers_row = [p + float(beta) * e for p, e in zip(rest, rest2)]
            for i, alpha in enumerate(alphas):
                alpha = float(alpha)
                h = torch.relu(z_row + alpha * za)
                layers = [p + alpha * d for p, d in zip(layers_row, rest1)]
                for k in range(0, len(layers), 2):
                    h = F.linear(h, layers[k], layers[k + 1])
                    if k < len(layers) - 2:
                        h = torch.relu(h)
                out[j, i] = float(F.cross_entropy(h, y))
    return out


def rescale_layer(params: Params, layer: int, factor: float) -> Params:
    """Multiply layer ``layer``'s weights and bias by ``factor`` and divide the next layer's weights.

    For ReLU networks ``relu(c z) = c relu(z)`` when ``c > 0``, so the network
    computes exactly the same function (Dinh et al. 2017, "Sharp Minima Can
    Generalize For Deep Nets"), yet its Hessian, and so its sharpness, changes.
    """
    if factor <= 0 or not 0 <= layer < len(params) // 2 - 1:
        raise ValueError(f"need factor > 0 and a layer with a successor; got {factor}, {layer}")
    out = [p.detach().clone() for p in params]
    out[2 * layer] *= factor
    out[2 * layer + 1] *= factor
    out[2 * layer + 2] /= factor
    return out


def flatten(params: Params) -> torch.Tensor:
    """Each copy's parameters as one vector: shape ``(S, P)``."""
    return torch.cat([p.flatten(1) for p in params], dim=1)
