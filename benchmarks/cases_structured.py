"""Benchmark cases for course.losses.structured (issue 4).

CTC at a speech-like size against torch's native F.ctc_loss; triplet and
InfoNCE at a contrastive-learning batch (1024 x 128). torch has no InfoNCE,
so its side is the usual transcription: normalise, matmul, cross-entropy.
"""

import numpy as np
import torch
import torch.nn.functional as F
from _bench import Case

from course.losses import structured as S

CTC_SIZE = dict(T=200, N=32, C=30, S=40)
EMBEDDING_SIZE = (1024, 128)


def _make_ctc(rng, dtype, T=CTC_SIZE["T"], N=CTC_SIZE["N"], C=CTC_SIZE["C"], S=CTC_SIZE["S"]):
    logits = rng.normal(size=(T, N, C))
    log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    input_lengths = rng.integers(T * 3 // 4, T + 1, size=N)
    input_lengths[0] = T
    return {
        "log_probs": log_probs.astype(dtype),
        "targets": rng.integers(1, C, size=(N, S)),
        "input_lengths": input_lengths,
        "target_lengths": rng.integers(S // 2, S + 1, size=N),
    }


def _ctc_course(d):
    args = (d["log_probs"], d["targets"], d["input_lengths"], d["target_lengths"])
    S.ctc_loss(*args)
    S.ctc_loss_grad(*args)


def _ctc_torch(t):
    return F.ctc_loss(t["log_probs"], t["targets"], t["input_lengths"], t["target_lengths"])


def _make_triplet(rng, dtype, shape=EMBEDDING_SIZE):
    return {key: rng.normal(size=shape).astype(dtype) for key in ("anchor", "positive", "negative")}


def _triplet_course(d):
    S.triplet_margin_loss(d["anchor"], d["positive"], d["negative"])
    S.triplet_margin_loss_grad(d["anchor"], d["positive"], d["negative"])


def _triplet_torch(t):
    return F.triplet_margin_loss(t["anchor"], t["positive"], t["negative"])


def _make_pairs(rng, dtype, shape=EMBEDDING_SIZE):
    z1 = rng.normal(size=shape)
    return {"z1": z1.astype(dtype), "z2": (z1 + 0.5 * rng.normal(size=shape)).astype(dtype)}


def _info_nce_course(d):
    S.info_nce_loss(d["z1"], d["z2"])
    S.info_nce_loss_grad(d["z1"], d["z2"])


def _info_nce_torch(t, temperature=0.1):
    logits = F.normalize(t["z1"], dim=1) @ F.normalize(t["z2"], dim=1).T / temperature
    return F.cross_entropy(logits, torch.arange(logits.shape[0]))


def cases():
    ctc_scale = "x".join(str(v) for v in CTC_SIZE.values())
    embedding_scale = "x".join(str(v) for v in EMBEDDING_SIZE)
    for dtype in (np.float64, np.float32):
        yield Case("ctc_loss", ctc_scale, dtype, _make_ctc, _ctc_course, _ctc_torch,
                   grad_keys=("log_probs",), target=3.0)
        yield Case("triplet_margin_loss", embedding_scale, dtype, _make_triplet, _triplet_course,
                   _triplet_torch, grad_keys=("anchor", "positive", "negative"), target=2.0)
        yield Case("info_nce_loss", embedding_scale, dtype, _make_pairs, _info_nce_course,
                   _info_nce_torch, grad_keys=("z1", "z2"), target=2.0)
