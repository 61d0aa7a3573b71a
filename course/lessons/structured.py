"""Lesson 04: the pieces its cells call.

* a predicted box sliding past its target, scored by IoU-based losses
  (:func:`box_slide_curves`, drawn by the lesson's explorer);
* CTC by brute force (:func:`collapse`, :func:`ctc_brute_force`) and as the
  forward lattice the library's recursion walks (:func:`ctc_lattice`,
  :func:`lattice_edges`);
* the lesson's two training experiments live in
  :mod:`course.lessons.structured_detection` and
  :mod:`course.lessons.structured_embedding` (their optimiser is
  :func:`course.lessons.optim.adam_step`).
"""

from __future__ import annotations

import itertools

import numpy as np

from course import losses

TARGET = np.array([0.0, 0.0, 2.0, 2.0])


WIDTH, HEIGHT = 2.0, 1.5


_H = 1e-6


def predicted_boxes(offset, gap_y: float = 0.0) -> np.ndarray:
    """Boxes ``(x1, y1, x2, y2)`` of width 2 and height 1.5 whose left edge is at ``offset``."""
    offset = np.atleast_1d(np.asarray(offset, dtype=np.float64))
    x1, y1 = offset, np.full_like(offset, 0.25 + gap_y)
    return np.stack([x1, y1, x1 + WIDTH, y1 + HEIGHT], axis=-1)


def box_slide_curves(offsets, gap_y: float = 0.0) -> dict:
    """IoU, the IoU, GIoU and DIoU losses and their derivatives in the horizontal
    position, for :func:`predicted_boxes` at each of ``offsets`` against :data:`TARGET`.

    ``d_iou_loss`` is a central difference (IoU has no course gradient);
    the others come from the losses' ``_grad`` functions.
    """
    boxes = predicted_boxes(offsets, gap_y)
    target = np.broadcast_to(TARGET, boxes.shape)

    def iou_of(b):
        return losses.box_iou(b, TARGET[None, :])[:, 0]

    iou = iou_of(boxes)
    shift = np.array([_H, 0.0, _H, 0.0])
    d_iou_loss = -(iou_of(boxes + shift) - iou_of(boxes - shift)) / (2 * _H)
    giou = losses.generalized_box_iou_loss(boxes, target)
    diou = losses.distance_box_iou_loss(boxes, target)
    g_giou = losses.generalized_box_iou_loss_grad(boxes, target)
    g_diou = losses.distance_box_iou_loss_grad(boxes, target)
    return {
        "iou": iou,
        "iou_loss": 1 - iou,
        "giou_loss": giou,
        "diou_loss": diou,
        "d_iou_loss": d_iou_loss,
        "d_giou_loss": g_giou[:, 0] + g_giou[:, 2],
        "d_diou_loss": g_diou[:, 0] + g_diou[:, 2],
    }


# ------------------------------------------------------------------- CTC
def collapse(path, blank: int = 0) -> tuple:
    """CTC's collapse map B: merge repeated symbols, then drop blanks (``aab-`` -> ``ab``)."""
    out, previous = [], None
    for symbol in path:
        if symbol != previous and symbol != blank:
            out.append(int(symbol))
        previous = symbol
    return tuple(out)


def ctc_brute_force(log_probs, target, blank: int = 0) -> tuple[list, float]:
    r"""Every alignment of ``target`` in ``T`` frames, and the CTC loss summed over them.

    .. math:: \ell = -\log \sum_{\pi \in \mathcal B^{-1}(y)} \prod_t p_t(\pi_t)

    by enumerating all ``K**T`` frame-level paths, so only for tiny ``T``
    (Graves et al. 2006, "Connectionist temporal classification", ICML, eq. 3).

    Returns ``(alignments, loss)``: the paths that collapse to ``target``, as
    tuples, and ``-log`` of their total probability.
    """
    log_probs = np.asarray(log_probs, dtype=np.float64)
    if log_probs.ndim != 2:
        raise ValueError(f"log_probs must have shape (T, K), got {log_probs.shape}")
    n_frames, n_symbols = log_probs.shape
    target = tuple(int(s) for s in target)
    alignments = [path for path in itertools.product(range(n_symbols), repeat=n_frames)
                  if collapse(path, blank) == target]
    frames = np.arange(n_frames)
    total = sum(np.exp(log_probs[frames, list(path)].sum()) for path in alignments)
    return alignments, float(-np.log(total))


def ctc_lattice(log_probs, target, blank: int = 0) -> dict:
    r"""The forward recursion of CTC laid out as a lattice: frames x extended labels.

    The target ``y`` is extended with blanks, ``y' = (-, y_1, -, y_2, ..., y_S, -)``
    (``L = 2S + 1`` states). With ``p_t(k)`` the probability of symbol ``k`` at frame ``t``,

    .. math::
        \alpha_t(s) = p_t(y'_s)\,\big(\alpha_{t-1}(s) + \alpha_{t-1}(s-1)
                      + [\,y'_s \ne y'_{s-2}\,]\,\alpha_{t-1}(s-2)\big),

    starting from the first two states, and ``p(y | x) = alpha_T(L) + alpha_T(L-1)``
    (Graves et al. 2006, eqs. 5-8; Hannun 2017, "Sequence modeling with CTC",
    Distill, https://distill.pub/2017/ctc/). The alphas are the library's own:
    :func:`course.losses.ctc_loss` runs this recursion (in logs).

    Returns a dict with ``extended`` (the ``L`` symbols), ``alpha`` (``T x L``,
    probabilities), ``on_a_path`` (``T x L``: the node lies on a complete
    alignment, i.e. it is reached from the start *and* can still reach an
    end), ``moves`` (the allowed ``(s_from, s_to)`` between consecutive
    frames, "stay", "next" and "skip"), ``final`` (the two end states) and
    ``total`` (``p(y | x)``).
    """
    from course.losses import _ctc

    log_probs = np.asarray(log_probs, dtype=np.float64)
    if log_probs.ndim != 2:
        raise ValueError(f"log_probs must have shape (T, K), got {log_probs.shape}")
    target = np.asarray(target, dtype=np.int64).reshape(-1)
    lp, tg, il, tl, _ = _ctc._prepare(log_probs, target, log_probs.shape[0], target.size, blank)
    extended, emissions, skip = _ctc._extended(lp, tg, blank)
    with np.errstate(divide="ignore"):  # unreachable nodes have log alpha = -inf
        log_total, log_alpha = _ctc._forward(emissions, skip, il, tl, keep=True)
        log_beta = _ctc._backward(emissions, skip, il, tl)
    n_states = extended.shape[1]
    moves = [(s, s) for s in range(n_states)] + [(s - 1, s) for s in range(1, n_states)]
    moves += [(s - 2, s) for s in range(2, n_states) if np.isfinite(skip[0, s])]
    final = [s for s in (n_states - 2, n_states - 1) if s >= 0]
    return {
        "extended": extended[0],
        "alpha": np.exp(log_alpha[:, 0]),
        "on_a_path": np.isfinite(log_alpha[:, 0]) & np.isfinite(log_beta[:, 0]),
        "moves": moves,
        "final": final,
        "total": float(np.exp(log_total[0])),
    }


def lattice_edges(lattice: dict) -> list[tuple[int, int, int]]:
    """The lattice's arrows that some complete alignment uses: ``(t, s_from, s_to)``,
    from frame ``t`` to frame ``t + 1``, both ends on a complete path."""
    on = lattice["on_a_path"]
    return [(t, a, b) for t in range(on.shape[0] - 1) for a, b in lattice["moves"]
            if on[t, a] and on[t + 1, b]]
