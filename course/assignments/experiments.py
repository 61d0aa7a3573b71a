"""One graded experiment and one written question per exercise notebook.

An **experiment** is an exercise whose function runs a small study with the learner's own
functions (train the logistic model of lesson 02 with your ``cross_entropy_grad``, fit Huber
with your gradient, pick the IoU threshold with your ``iou``...). It is graded like any other
exercise: its case groups draw fresh data, call the learner's experiment (which calls the
learner's other functions, in the sandbox), and compare what comes back with the same study run
on :mod:`course.losses` (the ``reference`` below). A number typed into the notebook earns
nothing; a study run on a wrong or unstable loss returns the wrong weights, accuracy or
threshold. Each run is kept small (a few hundred vector operations) so that grading stays fast.

A **written question** (:class:`~course.assignments.spec.Written`) is answered in prose in a
markdown cell tagged ``written`` and scored by a teaching assistant from its rubric (see
``docs/instructors.md``, "Written questions").

Each ``aNN_topic`` module adds ``EXPERIMENTS[notebook]`` to its exercises and
``WRITTEN[notebook]`` as its written questions.
"""

from __future__ import annotations

import numpy as np

from course import metrics as M
from course.lessons import diagnostics as D
from course.lessons import generalization as G
from course.lessons import landscape as L
from course.lessons import regularization as RG
from course.losses import classification as K
from course.losses import composite as C
from course.losses import imbalance as I
from course.losses import likelihood as LK
from course.losses import log_softmax
from course.losses import regression as R
from course.losses import structured as S
from course.losses import surrogates as SU

from .spec import Case, CaseGroup, Exercise, Written

EXPERIMENT = "experiment: your functions at work"


def _experiment(name, reference, groups, summary):
    return Exercise(name, reference, tuple(groups), summary=summary)


# ------------------------------------------------------------------ 00
def fit_slope(x, y, learning_rate, steps):
    w = 0.0
    for _ in range(steps):
        w = _descent_step(w, x, y, learning_rate)
    return w, _central(w, x, y, 0.5)


def _descent_step(w, x, y, learning_rate):
    return w - learning_rate * np.mean(2 * (w * x - y) * x)


def _central(w, x, y, eps):
    loss = lambda v: np.mean((v * x - y) ** 2)  # noqa: E731
    return (loss(w + eps) - loss(w - eps)) / (2 * eps)


def _slope_cases(rng):
    x = rng.uniform(0, 8, 12)
    y = 9 * x + rng.normal(0, 6, 12)
    return [Case((x, y, 0.005, 50), {}, "50 steps on 12 points"),
            Case((x, y, 0.06, 20), {}, "a step size too large: it diverges")]


# ------------------------------------------------------------------ 01
def huber_fit(x, y, delta, lr, steps):
    w = b = 0.0
    for _ in range(steps):
        g = R.huber_loss_grad(w * x + b, y, reduction="mean", delta=delta)
        w, b = w - lr * np.sum(g * x), b - lr * np.sum(g)
    return np.array([w, b])


def _huber_cases(rng):
    x = rng.uniform(-2, 2, 30)
    y = 2 * x + 1 + rng.normal(0, 0.3, 30)
    dirty = y.copy()
    dirty[rng.choice(30, 4, replace=False)] += rng.uniform(20, 40, 4)
    return [Case((x, y, 1.0, 1.0, 25), {}, "clean line"),
            Case((x, dirty, 1.0, 1.0, 25), {}, "four outliers far above the line")]


# ------------------------------------------------------------------ 02
def train_logistic(X, y, classes, steps, lr):
    W = np.zeros((X.shape[1], classes))
    for _ in range(steps):
        W = W - lr * X.T @ K.cross_entropy_grad(X @ W, y)
    return W, np.mean(np.argmax(X @ W, axis=1) == y)


def _blobs(rng, n=60, classes=3, spread=1.0):
    y = rng.integers(0, classes, n)
    centres = rng.normal(0, 3, (classes, 2))
    X = centres[y] + rng.normal(0, spread, (n, 2))
    return np.column_stack([X, np.ones(n)]), y


def _logistic_cases(rng):
    X, y = _blobs(rng)
    return [Case((X, y, 3, 40, 0.5), {}, "three blobs, 40 steps"),
            Case((X * 1000, y, 3, 5, 0.5), {},
                 "features scaled by 1000: logits in the thousands must stay finite")]


# ------------------------------------------------------------------ 03
def fit_gaussian(y, steps, lr):
    mu, s = 0.0, 0.0
    for _ in range(steps):
        v = np.exp(s)
        d_mu, d_var = LK.gaussian_nll_loss_grad(np.full_like(y, mu), y, np.full_like(y, v))
        mu, s = mu - lr * np.sum(d_mu), s - lr * np.sum(d_var) * v
    return np.array([mu, np.exp(s)])


def _gaussian_cases(rng):
    y = rng.normal(rng.uniform(1, 4), rng.uniform(0.5, 2), 40)
    return [Case((y, 150, 0.2), {}, "40 draws of a normal, 150 steps")]


# ------------------------------------------------------------------ 04
def match_boxes(preds, targets):
    iou = S.box_iou(preds, targets)
    best = np.argmax(iou, axis=1)
    loss = S.generalized_box_iou_loss(preds, targets[best], reduction="mean")
    return best, iou[np.arange(len(preds)), best], loss


def _boxes(rng, n):
    lo = rng.uniform(0, 10, (n, 2))
    return np.column_stack([lo, lo + rng.uniform(1, 4, (n, 2))])


def _match_cases(rng):
    targets = _boxes(rng, 4)
    preds = targets[rng.integers(0, 4, 6)] + rng.normal(0, 0.7, (6, 4))
    preds[:, 2:] = np.maximum(preds[:, 2:], preds[:, :2] + 0.5)
    far = preds.copy()
    far[0] += 100.0  # overlaps nothing: IoU 0, but GIoU still says how far
    return [Case((preds, targets), {}, "six predictions, four targets"),
            Case((far, targets), {}, "one prediction far from every target")]


# ------------------------------------------------------------------ 05
def sharpness(w, X, y, steps):
    d = len(w)
    H = np.column_stack([L.logistic_hvp(w, X, y, np.eye(d)[i]) for i in range(d)])
    return L.top_eigenvalue(H, np.ones(d), steps)


def _sharpness_cases(rng):
    X = rng.normal(0, 1, (40, 4))
    y = (X[:, 0] + rng.normal(0, 1, 40) > 0).astype(float)
    return [Case((rng.normal(0, 1, 4), X, y, 60), {}, "40 examples, 4 weights"),
            Case((rng.normal(0, 1, 4) * 30, X, y, 60), {}, "large weights: saturated, flat")]


# ------------------------------------------------------------------ 06
def focal_training(x, y, gamma, steps, lr):
    w = b = 0.0
    for _ in range(steps):
        g = I.sigmoid_focal_loss_grad(w * x + b, y, alpha=-1.0, gamma=gamma, reduction="mean")
        w, b = w - lr * np.sum(g * x), b - lr * np.sum(g)
    recall = np.mean(w * x[y == 1] + b > 0)
    return np.array([w, b, recall])


def _focal_cases(rng):
    x = np.r_[rng.normal(-1, 1, 90), rng.normal(1.2, 1, 10)]
    y = np.r_[np.zeros(90), np.ones(10)]
    return [Case((x, y, g, 80, 2.0), {}, f"90 negatives, 10 positives, gamma={g}") for g in (0.0, 2.0)]


# ------------------------------------------------------------------ 07
def best_threshold(probs, target, thresholds):
    scores = np.array([M.iou(probs, target, threshold=t) for t in thresholds])
    k = int(np.argmax(scores))
    return np.array([thresholds[k], scores[k], SU.soft_jaccard_loss(probs, target)])


def _threshold_cases(rng):
    target = (rng.random((4, 8, 8)) < 0.3).astype(float)
    probs = np.clip(0.25 + 0.4 * target + rng.normal(0, 0.15, target.shape), 0, 1)
    return [Case((probs, target, np.round(np.linspace(0.1, 0.9, 17), 2)), {},
                 "four noisy 8x8 masks, 17 thresholds")]


# ------------------------------------------------------------------ 08
def lasso_path(X, y, lam, lr, steps):
    w = np.zeros(X.shape[1])
    for _ in range(steps):
        w = RG.ista_step(w, X, y, lr, lam)
    return w, np.sum(w == 0)


def _lasso_cases(rng):
    X = rng.normal(0, 1, (50, 8))
    truth = np.zeros(8)
    truth[:3] = rng.uniform(1, 3, 3) * rng.choice([-1, 1], 3)
    y = X @ truth + rng.normal(0, 0.5, 50)
    return [Case((X, y, lam, 0.3, 80), {}, f"8 weights, 3 of them real, lam={lam}") for lam in (0.05, 0.5)]


# ------------------------------------------------------------------ 09
def fit_posterior(mu, logvar, steps, lr):
    for _ in range(steps):
        d_mu, d_logvar = C.gaussian_kl_grad(mu, logvar, reduction="sum")
        mu, logvar = mu - lr * d_mu, logvar - lr * d_logvar
    return mu, logvar, C.gaussian_kl(mu, logvar, reduction="sum")


def _posterior_cases(rng):
    return [Case((rng.normal(0, 2, (3, 4)), rng.normal(0, 1.5, (3, 4)), 30, 0.3), {},
                 "three posteriors of 4 latent dimensions, 30 steps")]


# ------------------------------------------------------------------ 10
def temperature_scan(logits, labels, temperatures, n_bins):
    eces = []
    for t in temperatures:
        probs = np.exp(log_softmax(logits / t))
        eces.append(G.expected_calibration_error(probs, labels, n_bins))
    k = int(np.argmin(eces))
    return np.array([temperatures[k], eces[k], eces[0]])


def _temperature_cases(rng):
    n, c = 200, 4
    labels = rng.integers(0, c, n)
    logits = rng.normal(0, 1, (n, c))
    logits[np.arange(n), labels] += 1.0
    return [Case((4 * logits, labels, np.array([1.0, 1.5, 2.0, 3.0, 4.0, 6.0]), 10), {},
                 "an overconfident model, six temperatures")]


# ------------------------------------------------------------------ 11
def flag_noisy(logits, labels, is_flipped, k):
    losses = D.per_example_cross_entropy(logits, labels)
    return np.array([D.precision_at_k(losses, is_flipped, k), np.mean(is_flipped)])


def _noisy_cases(rng):
    n, c = 80, 3
    truth = rng.integers(0, c, n)
    logits = rng.normal(0, 1, (n, c))
    logits[np.arange(n), truth] += 3.0
    flipped = rng.random(n) < 0.2
    labels = np.where(flipped, (truth + rng.integers(1, c, n)) % c, truth)
    return [Case((logits, labels, flipped, int(flipped.sum())), {},
                 "80 examples, about 20 % of the labels flipped")]


# ------------------------------------------------------------------ 12
def cheapest_screen(probs, y, cost_fp, cost_fn):
    from course.lessons import choosing as CH

    threshold = CH.bayes_threshold(cost_fp, cost_fn)
    return np.array([threshold, CH.expected_cost(probs, y, cost_fp, cost_fn, threshold),
                     CH.expected_cost(probs, y, cost_fp, cost_fn, 0.5)])


def _screen_cases(rng):
    probs = rng.beta(0.4, 5.0, 400)  # calibrated: each label is drawn with its probability
    y = (rng.random(400) < probs).astype(float)
    return [Case((probs, y, 1.0, float(c)), {}, f"a miss costs {c:g} false alarms")
            for c in (rng.uniform(2, 5), rng.uniform(20, 80))]


def _group(make, probes, rtol=1e-6, atol=1e-9):
    return CaseGroup(EXPERIMENT, make, points=2, probes=probes, rtol=rtol, atol=atol)


EXPERIMENTS = {
    "00_what_is_a_loss": _experiment("fit_slope", fit_slope, [_group(_slope_cases, "fresh data")],
                                     "50 descent steps with your step, then your slope there"),
    "01_regression": _experiment("huber_fit", huber_fit,
                                 [_group(_huber_cases, "fresh lines, fresh outliers")],
                                 "fit a line with your Huber gradient, with and without outliers"),
    "02_classification": _experiment("train_logistic", train_logistic,
                                     [_group(_logistic_cases, "fresh blobs, small and huge features")],
                                     "softmax regression trained with your cross_entropy_grad"),
    "03_likelihood": _experiment("fit_gaussian", fit_gaussian, [_group(_gaussian_cases, "fresh samples")],
                                 "mean and variance fitted with your Gaussian NLL gradient"),
    "04_structured": _experiment("match_boxes", match_boxes, [_group(_match_cases, "fresh boxes")],
                                 "match predictions to targets with your IoU, score them with GIoU"),
    "05_landscapes": _experiment("sharpness", sharpness,
                                 [_group(_sharpness_cases, "fresh data", rtol=1e-5, atol=1e-8)],
                                 "top Hessian eigenvalue from your HVP and power iteration"),
    "06_imbalance": _experiment("focal_training", focal_training, [_group(_focal_cases, "fresh data")],
                                "a 1-D classifier trained with your focal gradient, its recall"),
    "07_surrogates": _experiment("best_threshold", best_threshold, [_group(_threshold_cases, "fresh masks")],
                                 "the threshold with the best IoU, and the soft IoU loss"),
    "08_regularization": _experiment("lasso_path", lasso_path, [_group(_lasso_cases, "fresh data")],
                                     "ISTA with your step, and how many weights end exactly at 0"),
    "09_composite": _experiment("fit_posterior", fit_posterior, [_group(_posterior_cases, "fresh starts")],
                                "posteriors pulled to the prior by your KL gradient"),
    "10_generalization": _experiment("temperature_scan", temperature_scan,
                                     [_group(_temperature_cases, "fresh predictions")],
                                     "the temperature that minimises your ECE"),
    "11_diagnostics": _experiment("flag_noisy", flag_noisy, [_group(_noisy_cases, "fresh noisy labels")],
                                  "rank examples by your per-example loss, precision at k"),
    "12_choosing_a_loss": _experiment("cheapest_screen", cheapest_screen,
                                      [_group(_screen_cases, "fresh screens, fresh costs")],
                                      "your Bayes threshold against the default 0.5, costed with your "
                                      "expected_cost"),
}


def _written(qid, question, rubric):
    return (Written(qid, 2.0, question, tuple(rubric)),)


WRITTEN = {
    "00_what_is_a_loss": _written(
        "q_why_not_accuracy",
        "Why can gradient descent not train the threshold classifier on its accuracy, while it "
        "can train the slope on the squared error?",
        ["1 point: the accuracy is a staircase in the threshold: its derivative is 0 wherever it "
         "exists (and undefined at the jumps), so it gives no direction to move in.",
         "1 point: the squared error is smooth in w; its derivative says which way is downhill "
         "and shrinks near the optimum, so small steps make steady progress."]),
    "01_regression": _written(
        "q_why_huber_resists",
        "Adding a few outliers moves the least-squares line a lot but the Huber line little. "
        "Explain why, using the gradients of the two losses.",
        ["1 point: the squared error's gradient grows linearly with the residual, so one far point "
         "pulls as hard as many close ones.",
         "1 point: Huber's gradient is the residual clipped to [-delta, delta]: each outlier's pull is "
         "capped at delta, so the many inliers dominate."]),
    "02_classification": _written(
        "q_why_logsumexp",
        "Why does log(sum(exp(x))) fail for logits of ±10⁴, and why does subtracting the row's "
        "maximum first fix it without changing the answer?",
        ["1 point: exp(1e4) overflows to inf (and exp(-1e4) underflows to 0, whose log is -inf), so "
         "the result is inf or NaN although the true loss is finite.",
         "1 point: log Σ e^{x_k} = a + log Σ e^{x_k - a} exactly; with a = max, the largest term is "
         "e^0 = 1, so the sum lies in [1, C] and nothing overflows or takes log 0."]),
    "03_likelihood": _written(
        "q_why_sample_variance",
        "Your experiment's fitted variance is (close to) the sample variance of the data. Explain "
        "from the gradient of the Gaussian NLL with respect to var why that is the minimiser.",
        ["1 point: d/dv of ½(log v + r²/v) is ½(1/v − r²/v²); averaged over the data it is 0 where "
         "v = mean(r²), the (biased) sample variance around the fitted mean.",
         "1 point: the log v term punishes a large variance, r²/v a small one; the balance of the "
         "two is what makes the variance learnable."]),
    "04_structured": _written(
        "q_why_giou",
        "Why does the GIoU loss still help a prediction that overlaps no target, while 1 − IoU "
        "does not?",
        ["1 point: IoU is 0 for every non-overlapping pair, so 1 − IoU is constant there and its "
         "gradient is 0: the box gets no signal.",
         "1 point: GIoU subtracts (|E| − U)/|E| (E the enclosing box), which shrinks as the boxes get "
         "closer, so the loss still decreases (and has a gradient) when moving towards the target."]),
    "05_landscapes": _written(
        "q_why_no_labels",
        "Why does the Hessian-vector product of the logistic loss not depend on the labels y?",
        ["1 point: the labels enter the loss linearly (the term −y z), and a linear term has zero "
         "second derivative.",
         "1 point: H = Xᵀ diag(σ(z)(1 − σ(z))) X / n depends only on X and w (through z = Xw)."]),
    "06_imbalance": _written(
        "q_why_focal_boundary",
        "In your experiment the decision boundary and the recall barely move between γ = 0 and "
        "γ = 2. Explain what the factor (1 − p_t)^γ does to the gradient, and why that need not "
        "move the boundary; what would move it?",
        ["1 point: (1 − p_t)^γ shrinks the loss and gradient of easy, confidently classified "
         "examples (mostly the abundant negatives far from the boundary), so training focuses on "
         "the hard examples near the boundary.",
         "1 point: the boundary sits where the pulls of the hard examples of both classes balance; "
         "both sides are near the boundary and are down-weighted alike, so the balance point hardly "
         "moves. Weighting the classes (alpha > 0.5 for the positives) or lowering the threshold "
         "does move it."]),
    "07_surrogates": _written(
        "q_why_soft_iou",
        "Why do we train with the soft IoU loss but report the hard IoU at a threshold?",
        ["1 point: the hard IoU is a step function of the predictions (through the threshold): its "
         "gradient is 0 almost everywhere, so it cannot be trained by gradient descent.",
         "1 point: the soft IoU is differentiable and equals the hard IoU on 0/1 predictions, so "
         "lowering it tends to raise the metric; the threshold is chosen afterwards."]),
    "08_regularization": _written(
        "q_why_exact_zeros",
        "Why does ISTA set weights to exactly 0 while a subgradient step with sign(w) does not?",
        ["1 point: the soft threshold maps the whole interval [−ηλ, ηλ] to exactly 0, so a small "
         "weight lands on 0 and stays there.",
         "1 point: a subgradient step moves by ηλ·sign(w) and jumps over 0, oscillating around it "
         "instead of landing on it."]),
    "09_composite": _written(
        "q_why_expm1",
        "Why does exp(s) − 1 − s lose digits for s near 0, and how does np.expm1 avoid it?",
        ["1 point: exp(s) is 1 + s + s²/2 + …; rounding it to float64 keeps about 16 digits of the "
         "whole number, and subtracting 1 and s cancels all but the tiny s²/2, leaving mostly "
         "rounding error.",
         "1 point: expm1 computes e^s − 1 directly to full relative precision, so expm1(s) − s "
         "keeps the digits of s²/2."]),
    "10_generalization": _written(
        "q_why_right_closed",
        "Why does it matter whether the ECE bins are closed on the right, and what does a floor-"
        "binned ECE do with a confidence of exactly 0.5 and 4 bins?",
        ["1 point: confidences often sit exactly on edges (0.5 in binary problems, 1.0 for one-hot "
         "rows, rounded outputs), and the convention decides which bin they fall into, which "
         "changes the bins' accuracy and confidence and so the ECE.",
         "1 point: floor(4 · 0.5) = 2 puts 0.5 into bin (0.5, 0.75] instead of (0.25, 0.5], "
         "where it belongs; the two numbers differ, so results are not comparable."]),
    "11_diagnostics": _written(
        "q_why_loss_ranks_noise",
        "Why do examples with flipped labels tend to have the largest per-example losses, and when "
        "would ranking by loss stop finding them?",
        ["1 point: a model that fits the clean majority gives a low probability to a label that "
         "contradicts the pattern, so −log p is large for the flipped examples.",
         "1 point: it fails once the model memorises the noisy labels (long training, large "
         "capacity) or when clean examples are genuinely hard; then losses no longer separate them."]),
    "12_choosing_a_loss": _written(
        "q_why_bayes_threshold",
        "Why is flagging at p* = cost_fp / (cost_fp + cost_fn) the cheapest rule when the model's "
        "probabilities are calibrated, and what goes wrong with the same rule when they are not?",
        ["1 point: for one example, flagging costs (1 - p) cost_fp on average and passing costs "
         "p cost_fn; flagging is cheaper exactly when p > p*, so thresholding at p* minimises the "
         "expected cost example by example.",
         "1 point: the argument needs p to be the true probability; an over- or under-confident "
         "model puts p* in the wrong place (most visibly in the tails, for very unequal costs), "
         "so the threshold must be recalibrated or tuned on held-out data."]),
}
