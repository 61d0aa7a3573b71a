"""Lesson 07's laboratory: noisy disks, a tiny segmenter, and the surrogate-metric gap.

Three pieces, each small enough to read in one sitting:

* **Data** (NumPy): :func:`noisy_disks` draws 24 x 24 images holding one or
  two bright disks under Gaussian noise, with their 0/1 masks;
  :func:`sliding_prediction` is a one-dimensional "image" whose predicted
  segment slides across the target, for the picture of a staircase metric
  beside a smooth surrogate.
* **Scores** (NumPy): :func:`overlap_scores` puts the hard metrics of
  :mod:`course.metrics` and the soft scores of
  :mod:`course.losses.surrogates` side by side for one set of predictions;
  :func:`threshold_sweep` gives hard IoU and F1 as the threshold moves.
* **Training** (torch, imported only when called): :func:`train_segmenter`
  fits a three-layer convolutional net with binary cross-entropy, soft Dice
  or soft Jaccard. Each loss is a NumPy pair from :mod:`course.losses`,
  wrapped by :func:`course.torch_bridge.as_torch_loss`, so the gradients that
  train the net are the course's own.

Every score is a mean over images of a per-image score: the soft losses
average per-image scores (``reduction="mean"``), so the hard metrics here do
the same (``per_sample=True``), and the two columns measure the same thing.
"""

from __future__ import annotations

import numpy as np

from course import losses, metrics

__all__ = [
    "TRAINING_LOSSES", "noisy_disks", "sliding_prediction", "mask_rim", "uncertain_fraction",
    "overlap_scores", "threshold_sweep", "make_segmenter", "train_segmenter",
    "predict_logits", "predict_probabilities", "last_hidden", "silent_units",
    "first_step_pull", "scan_seeds",
]

#: the losses lesson 07 trains with, and how each is shown
TRAINING_LOSSES = {
    "bce": "binary cross-entropy",
    "dice": "soft Dice",
    "jaccard": "soft IoU (Jaccard)",
}


# --------------------------------------------------------------------- data
def noisy_disks(
    n: int,
    size: int = 24,
    seed: int = 0,
    noise: float = 0.6,
    signal: float = 0.8,
    radius: tuple[float, float] = (2.5, 4.5),
    max_disks: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """Images of one to ``max_disks`` bright disks in Gaussian noise, with their masks.

    Each disk has a radius drawn uniformly from ``radius`` and a centre at
    least one radius from the border. A pixel belongs to the mask when its
    centre lies inside a disk; the image is ``signal * mask + noise * N(0, 1)``,
    so a single pixel is a poor guide (signal 0.8 against noise 0.6) and a
    good segmenter must pool its neighbours.

    Returns
    -------
    images : ndarray, shape (n, size, size), float64
    masks : ndarray, shape (n, size, size), float64 holding 0 and 1
    """
    if n < 0 or size < 1 or max_disks < 1:
        raise ValueError(f"n must be >= 0, size and max_disks >= 1, got {n}, {size}, {max_disks}")
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:size, :size]
    masks = np.zeros((n, size, size))
    for i in range(n):
        for _ in range(rng.integers(1, max_disks + 1)):
            r = rng.uniform(*radius)
            cy, cx = rng.uniform(r, size - r, 2)
            masks[i][(rows - cy) ** 2 + (cols - cx) ** 2 <= r * r] = 1.0
    images = signal * masks + rng.normal(0.0, noise, masks.shape)
    return images, masks


def sliding_prediction(
    shift: float, length: int = 24, start: int = 8, width: int = 8, sharpness: float = 2.0
) -> tuple[np.ndarray, np.ndarray]:
    """A one-row "image": the target segment and a soft predicted segment shifted by ``shift``.

    The target is 1 on pixels ``start .. start + width - 1``. The prediction
    is a smooth bump of the same width, ``sigmoid(sharpness * (width/2 -
    |x - centre|))``, whose centre sits ``shift`` pixels right of the
    target's. Both come back with shape (1, length): one sample of ``length``
    pixels, ready for the per-sample losses and metrics.
    """
    x = np.arange(length, dtype=np.float64)
    centre = start + (width - 1) / 2 + shift
    target = ((x >= start) & (x < start + width)).astype(np.float64)
    prediction = losses.sigmoid(sharpness * (width / 2 - np.abs(x - centre)))
    return prediction[None], target[None]


# ------------------------------------------------------------------- scores
def mask_rim(masks) -> np.ndarray:
    """Boolean (N, H, W): pixels with a 4-neighbour of the other class (both sides of each edge).

    Beyond the border a pixel counts as its own neighbour, so the border
    itself makes no rim.
    """
    m = np.asarray(masks) == 1
    if m.ndim != 3:
        raise ValueError(f"masks must have shape (N, H, W), got {m.shape}")
    padded = np.pad(m, ((0, 0), (1, 1), (1, 1)), mode="edge")
    rim = np.zeros_like(m)
    for neighbour in (padded[:, 1:-1, :-2], padded[:, 1:-1, 2:],
                      padded[:, :-2, 1:-1], padded[:, 2:, 1:-1]):
        rim |= neighbour != m
    return rim


def uncertain_fraction(probabilities, low: float = 0.1, high: float = 0.9) -> float:
    """Share of pixels whose probability lies strictly between ``low`` and ``high``."""
    p = np.asarray(probabilities)
    return float(np.mean((p > low) & (p < high)))


def overlap_scores(probabilities, masks, threshold: float = 0.5) -> dict:
    """Hard metrics and soft scores of the same predictions, each a mean over images.

    Returns a dict with ``iou`` and ``f1`` (hard, thresholded at
    ``threshold``, from :mod:`course.metrics`), ``soft_iou`` and
    ``soft_dice`` (one minus :func:`~course.losses.soft_jaccard_loss` and
    :func:`~course.losses.soft_dice_loss`), ``bce``
    (:func:`~course.losses.binary_cross_entropy`, per pixel) and ``gap``,
    the hard IoU minus the soft IoU.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    t = np.asarray(masks, dtype=np.float64)
    scores = {
        "iou": float(np.mean(metrics.iou(p, t, threshold, per_sample=True))),
        "f1": float(np.mean(metrics.f1(p, t, threshold, per_sample=True))),
        "soft_iou": float(1.0 - losses.soft_jaccard_loss(p, t)),
        "soft_dice": float(1.0 - losses.soft_dice_loss(p, t)),
        "bce": float(losses.binary_cross_entropy(p, t)),
    }
    scores["gap"] = scores["iou"] - scores["soft_iou"]
    return scores


def threshold_sweep(probabilities, masks, thresholds) -> dict:
    """Hard IoU and F1 (means over images) at each threshold in ``thresholds``."""
    p = np.asarray(probabilities, dtype=np.float64)
    t = np.asarray(masks, dtype=np.float64)
    thresholds = np.asarray(thresholds, dtype=np.float64)
    iou = [np.mean(metrics.iou(p, t, th, per_sample=True)) for th in thresholds]
    f1 = [np.mean(metrics.f1(p, t, th, per_sample=True)) for th in thresholds]
    return {"thresholds": thresholds, "iou": np.array(iou), "f1": np.array(f1)}


# ----------------------------------------------------------------- training
def make_segmenter(seed: int = 0, width: int = 8, prior: float = 0.1, negative_slope: float = 0.0):
    """A fully convolutional net: 5x5 conv, ReLU, 3x3 conv, ReLU, 3x3 conv to one logit per pixel.

    Its receptive field is 9 x 9 pixels, about one disk. The last bias
    starts at ``logit(prior)``, so the untrained net already predicts the
    foreground share (Lin et al. 2017 start their focal-loss detector the
    same way); without it, cross-entropy sometimes spent most of a short
    training run escaping an all-background start. ``negative_slope > 0``
    uses leaky ReLUs, ``max(x, negative_slope * x)``, which are never
    entirely silent (Maas et al. 2013).
    """
    import torch

    if not 0.0 <= negative_slope < 1.0:
        raise ValueError(f"negative_slope must be in [0, 1), got {negative_slope}")

    def unit():
        return torch.nn.LeakyReLU(negative_slope) if negative_slope > 0 else torch.nn.ReLU()

    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, width, 5, padding=2), unit(),
        torch.nn.Conv2d(width, width, 3, padding=1), unit(),
        torch.nn.Conv2d(width, 1, 3, padding=1),
    )
    with torch.no_grad():
        net[-1].bias.fill_(float(np.log(prior / (1.0 - prior))))
    return net


def _torch_loss(name: str):
    """The course loss ``name`` as a torch function of (logits, masks)."""
    import torch

    from course.torch_bridge import as_torch_loss

    if name == "bce":
        bce = as_torch_loss(losses.binary_cross_entropy_with_logits,
                            losses.binary_cross_entropy_with_logits_grad)
        return bce
    pairs = {"dice": (losses.soft_dice_loss, losses.soft_dice_loss_grad),
             "jaccard": (losses.soft_jaccard_loss, losses.soft_jaccard_loss_grad)}
    if name not in pairs:
        raise ValueError(f"loss must be one of {sorted(TRAINING_LOSSES)}, got {name!r}")
    overlap = as_torch_loss(*pairs[name])
    # the overlap losses take probabilities: torch differentiates the sigmoid
    return lambda logits, target: overlap(torch.sigmoid(logits), target)


def predict_logits(net, images) -> np.ndarray:
    """The net's logits for (N, H, W) images, as float64 (N, H, W)."""
    import torch

    x = torch.as_tensor(np.asarray(images)[:, None], dtype=torch.float32)
    with torch.no_grad():
        return net(x)[:, 0].double().numpy()


def predict_probabilities(net, images) -> np.ndarray:
    """The net's foreground probabilities, ``sigmoid(logits)`` computed in float64.

    Taking the sigmoid in float64 keeps a confident pixel at, say,
    ``1 - 1e-12`` instead of rounding it to exactly 1 as float32 would.
    """
    return losses.sigmoid(predict_logits(net, images))


def train_segmenter(
    images,
    masks,
    loss: str,
    epochs: int = 25,
    batch_size: int = 20,
    lr: float = 1e-2,
    seed: int = 0,
    test: tuple | None = None,
    negative_slope: float = 0.0,
):
    """Train :func:`make_segmenter` on ``(images, masks)`` with one of :data:`TRAINING_LOSSES`.

    Adam with a learning rate decaying linearly to zero, minibatches in an
    order drawn from ``seed``. When ``test = (images, masks)`` is given, the
    net is scored on it after every epoch with :func:`overlap_scores`.
    ``negative_slope`` is passed to :func:`make_segmenter`.

    Returns
    -------
    net : torch.nn.Module
    history : dict of ndarray, one entry per epoch
        ``train_loss`` (mean of the minibatch losses), and with ``test``
        each key of :func:`overlap_scores`.
    """
    import torch

    if loss not in TRAINING_LOSSES:
        raise ValueError(f"loss must be one of {sorted(TRAINING_LOSSES)}, got {loss!r}")
    loss_fn = _torch_loss(loss)
    net = make_segmenter(seed, negative_slope=negative_slope)
    x = torch.as_tensor(np.asarray(images)[:, None], dtype=torch.float32)
    y = torch.as_tensor(np.asarray(masks)[:, None], dtype=torch.float32)
    steps = epochs * -(-len(x) // batch_size)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 - step / steps)
    order = torch.Generator().manual_seed(seed)
    history: dict[str, list] = {"train_loss": []}
    for _ in range(epochs):
        batch_losses = []
        for batch in torch.randperm(len(x), generator=order).split(batch_size):
            value = loss_fn(net(x[batch]), y[batch])
            optimizer.zero_grad()
            value.backward()
            optimizer.step()
            schedule.step()
            batch_losses.append(float(value.detach()))
        history["train_loss"].append(np.mean(batch_losses))
        if test is not None:
            for key, score in overlap_scores(predict_probabilities(net, test[0]), test[1]).items():
                history.setdefault(key, []).append(score)
    return net, {key: np.array(values) for key, values in history.items()}


# ------------------------------------------------------------------ a run that went wrong
def last_hidden(net, images) -> np.ndarray:
    """The activations of the net's last hidden layer (after its ReLU), (N, width, H, W), float64."""
    import torch

    x = torch.as_tensor(np.asarray(images)[:, None], dtype=torch.float32)
    with torch.no_grad():
        return net[:-1](x).double().numpy()


def silent_units(net, images, masks) -> dict:
    """Where the last hidden layer says nothing.

    A ReLU unit that outputs exactly 0 on a pixel passes no gradient back
    from it; a unit that is 0 on every pixel of every image is **dead**, and
    no loss can revive it. On a pixel where *every* unit is 0, the logit is
    the last layer's bias, the same number for all such pixels. (A leaky
    ReLU is never exactly 0, so its pixels are never silent.)

    Returns
    -------
    dict
        ``dead`` (number of units that are 0 everywhere), ``width``,
        ``silent_background`` (fraction of background pixels with every unit
        at 0), ``bias_probability`` (``sigmoid`` of the last bias: the
        probability every silent pixel gets), and per unit the fraction of
        background and of object pixels where it is non-zero
        (``active_background``, ``active_object``, arrays of ``width``).
    """
    hidden = last_hidden(net, images)
    background = np.asarray(masks) == 0
    speaks = hidden != 0  # (N, width, H, W)
    quiet = ~np.any(speaks, axis=1)  # (N, H, W): no unit speaks on that pixel
    per_unit = np.moveaxis(speaks, 1, 0)  # (width, N, H, W)
    bias = float(net[-1].bias.detach().double()[0])
    return {
        "dead": int(np.sum(~np.any(speaks, axis=(0, 2, 3)))),
        "width": hidden.shape[1],
        "silent_background": float(quiet[background].mean()),
        "bias_probability": float(losses.sigmoid(np.array(bias))),
        "active_background": per_unit[:, background].mean(axis=1),
        "active_object": per_unit[:, ~background].mean(axis=1),
    }


def first_step_pull(images, masks, loss: str, seed: int = 0, batch_size: int = 20) -> dict:
    """How the untrained net's first minibatch gradient pulls on the logits.

    Sums ``d loss / d logit`` over the background pixels and over the object
    pixels of the first minibatch :func:`train_segmenter` would draw. A
    positive sum pushes those logits down, a negative one pulls them up; when
    the object pull outweighs the background push, the first steps raise
    every logit. Also returns the sum of each last-hidden unit's outgoing
    weights (``out_weights``): a unit with a negative sum can only raise the
    logits by going quiet.
    """
    import torch

    net = make_segmenter(seed)
    x = torch.as_tensor(np.asarray(images)[:, None], dtype=torch.float32)
    y = torch.as_tensor(np.asarray(masks)[:, None], dtype=torch.float32)
    batch = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:batch_size]
    logits = net(x[batch])
    grad = torch.autograd.grad(_torch_loss(loss)(logits, y[batch]), logits)[0].double()
    target = y[batch] == 1
    return {
        "background": float(grad[~target].sum()),
        "object": float(grad[target].sum()),
        "out_weights": net[-1].weight.detach().double().sum(dim=(0, 2, 3)).numpy(),
    }


def scan_seeds(seeds, loss: str = "dice", negative_slope: float = 0.0, progress: bool = True) -> list:
    """Train lesson 07's experiment once per seed; report each run's gap and silent background.

    The seed sets the training images (``noisy_disks(200, seed)``), the test
    images (``seed + 1000``), the initial weights and the batch order, as in
    the lesson. About two seconds per seed on one core: the lesson quotes a
    scan of seeds 0-119 (a few minutes), which you can rerun with this.

    Returns a list of dicts: ``seed``, ``iou``, ``gap`` (true IoU minus soft
    IoU on the test set), and ``dead``, ``silent_background`` and
    ``bias_probability`` from :func:`silent_units`.
    """
    rows = []
    seeds = list(seeds)
    for i, seed in enumerate(seeds):
        images, masks = noisy_disks(200, seed=seed)
        test_images, test_masks = noisy_disks(200, seed=1000 + seed)
        net, _ = train_segmenter(images, masks, loss, seed=seed, negative_slope=negative_slope)
        scores = overlap_scores(predict_probabilities(net, test_images), test_masks)
        quiet = silent_units(net, test_images, test_masks)
        rows.append({"seed": seed, "iou": scores["iou"], "gap": scores["gap"],
                     **{key: quiet[key] for key in ("dead", "silent_background", "bias_probability")}})
        if progress:
            print(f"\rseed {seed} ({i + 1}/{len(seeds)}): gap {scores['gap']:.3f}", end="", flush=True)
    if progress and seeds:
        print()
    return rows
