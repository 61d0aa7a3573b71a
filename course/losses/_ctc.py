"""Connectionist temporal classification: the forward-backward recursion in log space.

Public names are re-exported by :mod:`course.losses.structured`; this module
holds the validation and the two recursions so the family module stays short.

Notation (Graves et al. 2006). A target ``l`` of length ``S`` is extended with
blanks to ``l' = (b, l_1, b, l_2, ..., l_S, b)`` of length ``L = 2S + 1``. A
path of length ``T`` maps to ``l`` by merging repeats and dropping blanks; the
loss is ``-log p(l | x) = -log sum over such paths of prod_t y_t(path_t)``.

* forward: ``alpha_t(s) = y_t(l'_s) * (alpha_{t-1}(s) + alpha_{t-1}(s-1)
  + [skip_s] alpha_{t-1}(s-2))``, with ``skip_s`` true when ``l'_s != l'_{s-2}``
  (so never onto a blank, and never between two equal labels: that is why
  a repeated label needs a blank between its copies);
* backward: ``beta`` is the same recursion run from the end;
* ``alpha_t(s) beta_t(s) / y_t(l'_s)`` summed over states is ``p`` at every
  ``t``, which gives the gradient in one line (see :func:`ctc_loss_grad`).

Everything is done on logarithms: the probabilities of long sequences
underflow after a few dozen frames. The loop runs over time only; each step
is vectorised over the batch and the extended-label axis.
"""

from __future__ import annotations

import numpy as np

from ._common import as_float, as_index, check_reduction, logsumexp, reduce

__all__ = ["ctc_loss", "ctc_loss_grad"]


# --------------------------------------------------------------- validation
def _lengths(value, name: str, n: int, unbatched: bool) -> np.ndarray:
    lengths = as_index(value, name)
    if unbatched:
        if lengths.size != 1:
            raise ValueError(f"{name} must be a single length for unbatched (T, C) log_probs, "
                             f"got shape {lengths.shape}")
        lengths = lengths.reshape(1)
    elif lengths.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), one length per sample, "
                         f"got shape {lengths.shape}")
    if np.any(lengths < 0):
        raise ValueError(f"{name} must be >= 0, got {lengths.min()}")
    return lengths


def _prepare(log_probs, targets, input_lengths, target_lengths, blank):
    """Validate; return (log_probs (T, N, C), padded targets (N, S), lengths, unbatched)."""
    lp = as_float(log_probs, "log_probs")
    if lp.ndim not in (2, 3):
        raise ValueError(f"log_probs must be (T, N, C) or unbatched (T, C), got shape {lp.shape}")
    unbatched = lp.ndim == 2
    if unbatched:
        lp = lp[:, None, :]
    T, N, C = lp.shape
    if lp.size == 0:
        raise ValueError(f"log_probs must not be empty (T, N, C >= 1), got shape {lp.shape}")
    if isinstance(blank, bool) or not isinstance(blank, (int, np.integer)) or not 0 <= blank < C:
        raise ValueError(f"blank must be a class index in [0, {C}), got {blank!r}")
    il = _lengths(input_lengths, "input_lengths", N, unbatched)
    tl = _lengths(target_lengths, "target_lengths", N, unbatched)
    if np.any(il > T):
        raise ValueError(f"input_lengths must be at most T = {T}, got {il.max()}")

    tg = as_index(targets, "targets")
    if unbatched:
        if tg.ndim != 1:
            raise ValueError("targets must be 1-D (S,) for unbatched log_probs, "
                             f"got shape {tg.shape}")
        tg = tg[None, :]
    if tg.ndim == 2:
        if tg.shape[0] != N or np.any(tl > tg.shape[1]):
            raise ValueError(f"padded targets must have shape ({N}, S) with "
                             f"S >= max(target_lengths) = {tl.max()}, got shape {tg.shape}")
        used = np.arange(tg.shape[1]) < tl[:, None]
    elif tg.ndim == 1:
        if tg.shape[0] != tl.sum():
            raise ValueError(f"concatenated 1-D targets must have length sum(target_lengths) = "
                             f"{tl.sum()}, got {tg.shape[0]}")
        used = np.arange(tl.max(initial=0)) < tl[:, None]
        padded = np.zeros(used.shape, dtype=np.int64)
        padded[used] = tg  # row-major mask order is the concatenation order
        tg = padded
    else:
        raise ValueError(f"targets must be padded (N, S) or concatenated 1-D, got shape {tg.shape}")
    labels = tg[used]
    if labels.size and (labels.min() < 0 or labels.max() >= C):
        raise ValueError(f"targets must be class indices in [0, {C}), got values in "
                         f"[{labels.min()}, {labels.max()}]")
    # Padding past each target's length may hold anything (torch ignores it): make it blank.
    tg = np.where(used, tg, blank)[:, : tl.max(initial=0)]
    return lp, tg, il, tl, unbatched


def _extended(lp, tg, blank):
    """Emission log-probs of the extended labels, E (T, N, L), and the skip penalty (N, L)."""
    N, S = tg.shape
    ext = np.full((N, 2 * S + 1), blank, dtype=np.int64)
    ext[:, 1::2] = tg
    emissions = lp[:, np.arange(N)[:, None], ext]
    skip = np.zeros(ext.shape, dtype=bool)
    skip[:, 2:] = ext[:, 2:] != ext[:, :-2]  # torch's rule; never true on a blank state
    skip_penalty = np.where(skip, 0.0, -np.inf).astype(lp.dtype)
    return ext, emissions, skip_penalty


# --------------------------------------------------------------- recursions
def _log_add3(a, b, c, floor):
    """log(e^a + e^b + e^c) elementwise, with the largest term shifted out.

    The shift is floored at the dtype's most negative finite number so that a
    state no path reaches (all three terms -inf) gives -inf rather than NaN.
    """
    m = np.maximum(a, b)
    np.maximum(m, c, out=m)
    np.maximum(m, floor, out=m)
    total = np.exp(a - m)
    total += np.exp(b - m)
    total += np.exp(c - m)
    np.log(total, out=total)
    total += m
    return total


def _ends_at(il):
    """{t: indices of the samples whose last frame is t} (samples with il = 0 excluded)."""
    ends = {}
    for b, length in enumerate(il):
        if length > 0:
            ends.setdefault(int(length) - 1, []).append(b)
    return {t: np.asarray(idx) for t, idx in ends.items()}


def _final_states(tl, L, dtype):
    """Log-weights (N, L) that are 0 on the two states a complete path may end in."""
    final = np.full((tl.size, L), -np.inf, dtype=dtype)
    rows = np.arange(tl.size)
    final[rows, 2 * tl] = 0
    has_label = tl > 0
    final[rows[has_label], 2 * tl[has_label] - 1] = 0
    return final


def _lattice(emissions, il, tl):
    """What both recursions need: sizes, dtype, its most negative finite value (a floor for
    log-sums), the number of steps, which samples end at each step, and the final states."""
    _, N, L = emissions.shape
    dtype = emissions.dtype
    steps = int(il.max())
    return N, L, dtype, np.finfo(dtype).min, steps, _ends_at(il), _final_states(tl, L, dtype)


def _forward(emissions, skip_penalty, il, tl, keep=False):
    """Run the alpha recursion; return log p(l | x) per sample and, with ``keep``, all alphas."""
    N, L, dtype, floor, steps, ends, final = _lattice(emissions, il, tl)
    log_likelihood = np.where(tl == 0, 0.0, -np.inf).astype(dtype)  # il = 0: empty path
    alphas = np.empty((steps, N, L), dtype=dtype) if keep else None

    buffer = np.full((N, L + 2), -np.inf, dtype=dtype)  # two -inf columns: shifts are slices
    alpha = buffer[:, 2:]
    alpha[:, :2] = emissions[0, :, :2]
    for t in range(steps):
        if t > 0:
            alpha[...] = _log_add3(alpha, buffer[:, 1:-1], buffer[:, :-2] + skip_penalty, floor)
            alpha += emissions[t]
        if keep:
            alphas[t] = alpha
        if t in ends:
            idx = ends[t]
            log_likelihood[idx] = logsumexp(alpha[idx] + final[idx], axis=1)
    return log_likelihood, alphas


def _backward(emissions, skip_penalty, il, tl):
    """The beta recursion, returning beta_t(s) / y_t(l'_s) in logs, shape (steps, N, L)."""
    N, L, dtype, floor, steps, ends, final = _lattice(emissions, il, tl)
    into_skip = np.full((N, L), -np.inf, dtype=dtype)  # may s jump to s + 2?
    into_skip[:, :-2] = skip_penalty[:, 2:]
    betas = np.empty((steps, N, L), dtype=dtype)

    buffer = np.full((N, L + 2), -np.inf, dtype=dtype)  # trailing -inf columns
    beta = buffer[:, :L]
    for t in range(steps - 1, -1, -1):
        if t < steps - 1:
            rest = _log_add3(beta, buffer[:, 1:L + 1], buffer[:, 2:] + into_skip, floor)
        else:
            rest = np.full((N, L), -np.inf, dtype=dtype)
        if t in ends:  # a sample's last frame: its paths start here, in a final state
            rest[ends[t]] = final[ends[t]]
        betas[t] = rest
        np.add(rest, emissions[t], out=beta)
    return betas


# --------------------------------------------------------------- public API
def _per_sample_scale(tl, reduction):
    """d(reduced loss) / d(loss_b): mean divides each loss by max(len, 1), then by N."""
    check_reduction(reduction)
    if reduction == "mean":
        return 1.0 / (np.maximum(tl, 1) * tl.size)
    return np.ones(tl.size)


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> np.ndarray:
    r"""Connectionist temporal classification loss, ``F.ctc_loss``.

    .. math::
        \ell_b = -\log \sum_{\pi \in \mathcal B^{-1}(l_b)} \prod_{t=1}^{T_b} y^t_{\pi_t}

    summed over every frame-level path ``pi`` that collapses to the target
    ``l_b`` (merge repeats, then drop blanks), computed by the forward
    recursion in log space.

    Parameters
    ----------
    log_probs : array_like, (T, N, C) or unbatched (T, C)
        Per-frame log-probabilities (normally a ``log_softmax`` output; raw
        scores are accepted as torch accepts them).
    targets : array_like of int
        Padded ``(N, S)`` with ``S >= max(target_lengths)`` (entries past a
        target's length are ignored), or all targets concatenated in 1-D.
        Unbatched: ``(S,)``. Labels in ``[0, C)``; a blank inside a target is
        accepted, as in torch.
    input_lengths, target_lengths : array_like of int, (N,)
        Frames and labels used per sample; ``0 <= input_length <= T``.
    blank : int
        Index of the blank class.
    reduction : {"mean", "sum", "none"}
        "mean" divides each loss by ``max(target_length, 1)`` and then takes
        the batch mean (torch's definition, not the plain mean).
    zero_infinity : bool
        Replace infinite losses (no alignment fits: ``T_b < S_b + repeats``)
        by 0, and their gradients by 0.

    Returns
    -------
    ndarray
        ``(N,)`` for "none" (0-d when unbatched), otherwise 0-d. An
        impossible alignment gives ``inf``. A zero-length target gives
        ``-sum_t log y_t(blank)``.

    References
    ----------
    Graves, Fernandez, Gomez, Schmidhuber (2006), "Connectionist temporal
    classification: labelling unsegmented sequence data with recurrent neural
    networks", ICML.
    """
    check_reduction(reduction)
    lp, tg, il, tl, unbatched = _prepare(log_probs, targets, input_lengths, target_lengths, blank)
    _, emissions, skip_penalty = _extended(lp, tg, blank)
    with np.errstate(divide="ignore"):
        log_likelihood, _ = _forward(emissions, skip_penalty, il, tl)
    loss = -log_likelihood
    if zero_infinity:
        loss[np.isinf(loss)] = 0
    if reduction == "mean":
        loss = loss / np.maximum(tl, 1).astype(loss.dtype)
        return reduce(loss, "mean")
    if unbatched and reduction == "none":
        return loss.reshape(())
    return reduce(loss, reduction)


def ctc_loss_grad(log_probs, targets, input_lengths, target_lengths, blank: int = 0,
                  reduction: str = "mean", zero_infinity: bool = False) -> np.ndarray:
    r"""True gradient of :func:`ctc_loss` with respect to ``log_probs``.

    .. math::
        \frac{\partial \ell_b}{\partial \log y^t_k}
        = -\frac{1}{p(l_b \mid x)} \sum_{s:\, l'_s = k} \alpha_t(s)\,\hat\beta_t(s)

    where ``alpha_t(s)`` includes frame ``t``'s emission and
    ``hat beta_t(s) = beta_t(s) / y^t_{l'_s}`` does not, so the product is
    the probability mass of the paths through state ``s`` at frame ``t``.
    Frames past a sample's input length get 0.

    This is the derivative of the returned loss with respect to the array
    you passed. ``torch.nn.functional.ctc_loss`` returns this plus
    ``exp(log_probs)`` at a leaf, because its backward assumes a
    ``log_softmax`` in front (pytorch#52241); through a ``log_softmax`` the
    two agree.

    An impossible alignment (loss ``inf``) has no derivative: without
    ``zero_infinity`` that sample's frames ``t < T_b`` get NaN, exactly
    where torch puts NaN, so the problem shows instead of being hidden as a
    zero. With ``zero_infinity`` they get 0.
    """
    check_reduction(reduction)
    lp, tg, il, tl, unbatched = _prepare(log_probs, targets, input_lengths, target_lengths, blank)
    T, N, C = lp.shape
    ext, emissions, skip_penalty = _extended(lp, tg, blank)
    grad = np.zeros((N, T, C), dtype=lp.dtype)
    scale = _per_sample_scale(tl, reduction).astype(lp.dtype)
    with np.errstate(divide="ignore"):
        log_likelihood, alphas = _forward(emissions, skip_penalty, il, tl, keep=True)
    impossible = np.isneginf(log_likelihood)
    if np.any(il > 0):
        with np.errstate(divide="ignore"):
            betas = _backward(emissions, skip_penalty, il, tl)
        # occupancy(t, b, s) = alpha beta / (y p): the share of paths through (t, s); <= 1
        shift = np.where(impossible, 0, log_likelihood) - np.log(scale)
        alphas += betas
        alphas -= shift[None, :, None]
        occupancy = np.exp(alphas, out=alphas)
        # scatter the states onto their classes: one small matrix product per sample
        one_hot = (ext[:, :, None] == np.arange(C)).astype(lp.dtype)
        steps = occupancy.shape[0]
        np.matmul(occupancy.transpose(1, 0, 2), one_hot, out=grad[:, :steps])
        np.negative(grad, out=grad)
    if np.any(impossible):
        if not zero_infinity:
            frames = np.arange(T) < il[:, None]
            grad[impossible[:, None] & frames] = np.nan
    grad = grad.transpose(1, 0, 2)
    return grad[:, 0, :] if unbatched else grad
