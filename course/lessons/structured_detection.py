"""Lesson 04, detection: a tiny grid detector trained with ``detection_loss``.

A detection loss adds a classification term and a localisation term,

.. math::
    L = \\frac{1}{N_{obj}} \\Big( \\sum_{\\text{cells}} \\mathrm{CE}(z, k)
        + \\lambda \\sum_{\\text{objects}} \\big[\\textstyle\\sum_{4\\ \\text{corners}}
          \\mathrm{SmoothL1}_{\\beta_s}(b - b^{gt}) + \\mathrm{GIoU}(B, B^{gt})\\big] \\Big),

and the box weight ``lambda`` sets how much each term pulls on the weights the two
share. The experiment here is a miniature of YOLO's grid (Redmon et al. 2016,
"You only look once", CVPR, https://arxiv.org/abs/1506.02640) trained on the
matched-pair loss of DETR (Carion et al. 2020, https://arxiv.org/abs/2005.12872):

* :func:`detection_images`: 32x32 noisy images with one or two objects, each a
  filled or a hollow rectangle whose centre lies near the centre of one cell of
  a 4x4 grid (so which cell answers for which object is never in doubt);
* a one-hidden-layer network looks at a 24x24 window around each cell and
  outputs ``K = 3`` logits (background, filled, hollow) and four box offsets
  from the cell's anchor box; the hidden layer is shared by both outputs;
* the object cells are scored with :func:`course.losses.detection_loss`
  (cross-entropy + ``lambda`` smooth L1 + ``lambda`` GIoU, in pixels); the
  background cells have no box and get cross-entropy alone, as DETR's
  "no object" rows do;
* :func:`train_detector` runs full-batch Adam; :func:`detector_scores` gives the
  accuracy on objects and the mean IoU of their boxes on fresh test images.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from threadpoolctl import threadpool_limits

from course import losses
from course.lessons.optim import adam_step

IMAGE, CELL, GRID = 32, 8, 4
CLASSES = ("background", "filled", "hollow")
ANCHOR = 10.0        # side of each cell's anchor box, pixels
BOX_SCALE = 4.0      # one unit of a box output moves a corner by 4 pixels
POOL, MARGIN = 4, 8  # window = the cell and 8 pixels around it, averaged over 4x4 blocks
BOX_WEIGHTS = (0.01, 1.0, 100.0)


def detection_images(n: int, seed: int = 0, jitter: float = 2.0, noise: float = 0.1) -> dict:
    """``n`` images of 32x32 pixels with one or two rectangles (6-13 pixels a side).

    Each rectangle is filled (class 1) or a hollow frame two pixels thick
    (class 2); its centre lies within ``jitter`` pixels of the centre of a
    grid cell, one object per cell, and rectangles never touch. Gaussian
    pixel noise of standard deviation ``noise``.

    Returns ``images`` (n, 32, 32), ``classes`` (n, 16) (0 = background) and
    ``boxes`` (n, 16, 4), the ``(x1, y1, x2, y2)`` of each cell's object in
    pixels (zeros on background cells).
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    rng = np.random.default_rng(seed)
    images = rng.normal(0.0, noise, (n, IMAGE, IMAGE))
    classes = np.zeros((n, GRID * GRID), dtype=np.int64)
    boxes = np.zeros((n, GRID * GRID, 4))
    for i in range(n):
        wanted, placed = 1 + rng.integers(2), []
        while len(placed) < wanted:
            cell = int(rng.integers(GRID * GRID))
            w, h = rng.integers(6, 14, size=2)
            cx = (cell % GRID + 0.5) * CELL + rng.uniform(-jitter, jitter)
            cy = (cell // GRID + 0.5) * CELL + rng.uniform(-jitter, jitter)
            x1 = int(np.clip(round(cx - w / 2), 0, IMAGE - w))
            y1 = int(np.clip(round(cy - h / 2), 0, IMAGE - h))
            box = np.array([x1, y1, x1 + w, y1 + h], dtype=np.float64)
            apart = all(box[0] > b[2] or b[0] > box[2] or box[1] > b[3] or b[1] > box[3]
                        for _, b in placed)
            if apart and all(cell != c for c, _ in placed):
                placed.append((cell, box))
        for cell, box in placed:
            x1, y1, x2, y2 = box.astype(int)
            kind = 1 + int(rng.integers(2))
            images[i, y1:y2, x1:x2] += 1.0
            if kind == 2:
                images[i, y1 + 2:y2 - 2, x1 + 2:x2 - 2] -= 1.0
            classes[i, cell], boxes[i, cell] = kind, box
    return {"images": images, "classes": classes, "boxes": boxes}


def cell_windows(images) -> np.ndarray:
    """The input of each cell: a 24x24 window around it, averaged over 4x4 blocks.

    Shape ``(n * 16, 36)``, rows in the order of the cells (row-major).
    """
    images = np.asarray(images, dtype=np.float64)
    n = images.shape[0]
    padded = np.pad(images, ((0, 0), (MARGIN, MARGIN), (MARGIN, MARGIN)))
    side = padded.shape[1] // POOL
    pooled = padded.reshape(n, side, POOL, side, POOL).mean(axis=(2, 4))
    width, step = (CELL + 2 * MARGIN) // POOL, CELL // POOL
    windows = sliding_window_view(pooled, (width, width), axis=(1, 2))[:, ::step, ::step]
    return windows.reshape(n * GRID * GRID, width * width)


def anchor_boxes(n: int = 1) -> np.ndarray:
    """A 10x10 box centred on each cell, ``(n * 16, 4)``: the box an output of zero means."""
    centre = (np.arange(GRID) + 0.5) * CELL
    cy, cx = np.meshgrid(centre, centre, indexing="ij")
    half = ANCHOR / 2
    anchors = np.stack([cx - half, cy - half, cx + half, cy + half], axis=-1).reshape(-1, 4)
    return np.tile(anchors, (n, 1))


def init_detector(hidden: int = 16, seed: int = 0) -> list[np.ndarray]:
    """``[W1, b1, W2, b2]``: 36 inputs -> ``hidden`` ReLU units -> 3 logits and 4 box offsets."""
    rng = np.random.default_rng(seed)
    inputs = ((CELL + 2 * MARGIN) // POOL) ** 2
    return [rng.uniform(-1, 1, (inputs, hidden)) / np.sqrt(inputs), np.zeros(hidden),
            rng.uniform(-1, 1, (hidden, 7)) / np.sqrt(hidden), np.zeros(7)]


def detector_outputs(params, windows, anchors):
    """``(hidden, logits (rows, 3), boxes (rows, 4))``: boxes = anchor + 4 px x offsets."""
    W1, b1, W2, b2 = params
    hidden = np.maximum(windows @ W1 + b1, 0.0)
    out = hidden @ W2 + b2
    return hidden, out[:, :3], anchors + BOX_SCALE * out[:, 3:]


def _flat(data: dict):
    return data["classes"].reshape(-1), data["boxes"].reshape(-1, 4)


def detection_terms(params, windows, anchors, classes, target_boxes, box_weight: float,
                    terms: bool = True):
    """The two terms (unweighted, per object) and the gradient of ``cls + box_weight * box``.

    Returns ``(classification, box, grads)``; ``grads`` matches ``params``. With
    ``terms=False`` the two terms are not computed (``None``), which saves time.
    """
    hidden, logits, boxes = detector_outputs(params, windows, anchors)
    obj, empty = np.flatnonzero(classes > 0), np.flatnonzero(classes == 0)
    n_obj = max(obj.size, 1)
    pair = (logits[obj], boxes[obj], classes[obj], target_boxes[obj])
    classification = box = None
    if terms:
        background = losses.cross_entropy(logits[empty], classes[empty], reduction="sum")
        only_class = {"cls_weight": 1.0, "l1_weight": 0.0, "giou_weight": 0.0}
        only_box = {"cls_weight": 0.0, "l1_weight": 1.0, "giou_weight": 1.0}
        classification = float(losses.detection_loss(*pair, "sum", **only_class) + background) / n_obj
        box = float(losses.detection_loss(*pair, "sum", **only_box)) / n_obj
    d_logits, d_boxes = np.zeros_like(logits), np.zeros_like(boxes)
    d_logits[obj], d_boxes[obj] = losses.detection_loss_grad(
        *pair, "sum", cls_weight=1.0, l1_weight=box_weight, giou_weight=box_weight)
    d_logits[empty] = losses.cross_entropy_grad(logits[empty], classes[empty], reduction="sum")
    d_out = np.concatenate([d_logits, BOX_SCALE * d_boxes], axis=1) / n_obj
    d_hidden = (d_out @ params[2].T) * (hidden > 0)
    grads = [windows.T @ d_hidden, d_hidden.sum(0), hidden.T @ d_out, d_out.sum(0)]
    return classification, box, grads


def shared_layer_pulls(params, data: dict, box_weight: float) -> tuple[float, float]:
    """Norms of the two terms' gradients on the shared layer ``W1``: ``(classification, box)``.

    The box term's includes its weight, so their ratio says which term steers
    the features both outputs read.
    """
    windows, anchors = cell_windows(data["images"]), anchor_boxes(len(data["images"]))
    classes, target_boxes = _flat(data)
    g_cls = detection_terms(params, windows, anchors, classes, target_boxes, 0.0)[2][0]
    g_all = detection_terms(params, windows, anchors, classes, target_boxes, box_weight)[2][0]
    return float(np.linalg.norm(g_cls)), float(np.linalg.norm(g_all - g_cls))


def train_detector(box_weight: float, seed: int = 0, n_train: int = 200, steps: int = 150,
                   lr: float = 0.025, hidden: int = 16, record_every: int = 5) -> dict:
    """Train the grid detector on ``n_train`` images (seed ``seed``) with full-batch Adam.

    Returns ``params``, and ``steps`` and ``history``: the step numbers
    ``0, record_every, ...`` and, before each of them, the classification and
    box terms (unweighted), shape ``(len(steps), 2)``.
    """
    if box_weight < 0:
        raise ValueError(f"box_weight must be >= 0, got {box_weight}")
    data = detection_images(n_train, seed)
    windows, anchors = cell_windows(data["images"]), anchor_boxes(n_train)
    classes, target_boxes = _flat(data)
    params = init_detector(hidden, seed)
    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
    history = []
    with threadpool_limits(1):
        for step in range(1, steps + 1):
            record = (step - 1) % record_every == 0
            cls, box, grads = detection_terms(params, windows, anchors, classes, target_boxes,
                                              box_weight, terms=record)
            if record:
                history.append((cls, box))
            adam_step(params, grads, moments, step, lr)
    return {"params": params, "steps": np.arange(0, steps, record_every), "history": np.array(history),
            "box_weight": box_weight, "seed": seed}


def held_out_images(seed: int = 0, n: int = 200) -> dict:
    """Fresh images for scoring a detector trained with ``seed`` (never its training images)."""
    return detection_images(n, 10_000 + seed)


def detect(params, images) -> dict:
    """Each cell's predicted class and box: ``classes`` (n, 16) and ``boxes`` (n, 16, 4)."""
    n = len(images)
    _, logits, boxes = detector_outputs(params, cell_windows(images), anchor_boxes(n))
    return {"classes": logits.argmax(1).reshape(n, -1), "boxes": boxes.reshape(n, -1, 4)}


def detector_scores(params, data: dict) -> dict:
    """``accuracy``: fraction of objects whose cell names the right class;
    ``mean_iou``: mean IoU of each object's predicted box with its true box;
    ``background_accuracy``: fraction of empty cells called background."""
    found = detect(params, data["images"])
    obj = data["classes"] > 0
    right = found["classes"] == data["classes"]
    iou = np.diag(losses.box_iou(found["boxes"][obj], data["boxes"][obj]))
    return {"accuracy": float(right[obj].mean()), "mean_iou": float(iou.mean()),
            "background_accuracy": float(right[~obj].mean())}


def box_weight_runs(weights=BOX_WEIGHTS, seeds=(0, 1, 2), **options) -> dict:
    """Train one detector per box weight and seed; score each on its test images.

    Returns ``{"accuracy": (weights, seeds), "mean_iou": (weights, seeds),
    "runs": {(weight, seed): run}}``.
    """
    shape = (len(weights), len(seeds))
    result = {"accuracy": np.empty(shape), "mean_iou": np.empty(shape), "runs": {}}
    for i, weight in enumerate(weights):
        for j, seed in enumerate(seeds):
            run = train_detector(weight, seed, **options)
            scores = detector_scores(run["params"], held_out_images(seed))
            result["accuracy"][i, j], result["mean_iou"][i, j] = scores["accuracy"], scores["mean_iou"]
            result["runs"][weight, seed] = run
    return result
