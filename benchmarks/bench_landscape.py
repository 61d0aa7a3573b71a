"""Lesson 05's measurements at full size: slice timing and small- vs large-batch sharpness.

Run:  .venv/bin/python benchmarks/bench_landscape.py [--seeds 5] [--steps 4000] [--grid-only]

1. **41 x 41 slice.** Three ways to evaluate the training loss (1,257 digits)
   on a 41 x 41 grid of filter-normalised directions around a trained MLP:
   a naive loop (rebuild every parameter, full forward pass), the library's
   loop (``course.lessons.landscape.slice_2d``: the first layer is linear in the grid
   coordinates, so its three products are computed once), and
   ``torch.func.vmap`` over each row of the grid. Best of 3, single thread.
   The lesson needs under 2 s.
2. **Sharpness.** For each seed, the same MLP (64-32-32-10, ReLU) trained by
   plain SGD at lr 0.1 for ``--steps`` steps with batch 16 (small batch, SB)
   and with the full training set (large batch, LB); top Hessian eigenvalue
   of the full training loss by power iteration (20 products), train loss
   and test accuracy of each.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from course.lessons import landscape as L

torch.set_num_threads(1)


def naive_slice(params, d1, d2, alphas, betas, X, y):
    out = np.empty((len(betas), len(alphas)))
    single = [p[0] for p in params]
    e1, e2 = [d[0] for d in d1], [d[0] for d in d2]
    with torch.no_grad():
        for j, b in enumerate(betas):
            for i, a in enumerate(alphas):
                h = X
                layer = [p + float(a) * u + float(b) * v for p, u, v in zip(single, e1, e2)]
                for k in range(0, len(layer), 2):
                    h = F.linear(h, layer[k], layer[k + 1])
                    if k < len(layer) - 2:
                        h = torch.relu(h)
                out[j, i] = float(F.cross_entropy(h, y))
    return out


def vmap_slice(params, d1, d2, alphas, betas, X, y):
    from torch.func import vmap

    single = [p[0] for p in params]
    e1, e2 = [d[0] for d in d1], [d[0] for d in d2]
    a_all = torch.as_tensor(np.asarray(alphas), dtype=torch.float32)

    def one(a, b):
        h = X
        layer = [p + a * u + b * v for p, u, v in zip(single, e1, e2)]
        for k in range(0, len(layer), 2):
            h = F.linear(h, layer[k], layer[k + 1])
            if k < len(layer) - 2:
                h = torch.relu(h)
        return F.cross_entropy(h, y)

    out = np.empty((len(betas), len(alphas)))
    with torch.no_grad():
        for j, b in enumerate(betas):
            out[j] = vmap(lambda a, b=float(b): one(a, b))(a_all).numpy()
    return out


def best_of(fn, repeats=3):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def grid_timing():
    data = L.digits_data()
    X, y = data["X_train"], data["y_train"]
    params = L.train_mlp(L.init_mlp(0), X, y, batch_size=len(X), steps=300, lr=0.5)
    d1 = L.filter_normalize_direction(L.random_direction(params, 1), params)
    d2 = L.filter_normalize_direction(L.random_direction(params, 2), params)
    grid = np.linspace(-1, 1, 41)
    print("== 41 x 41 filter-normalised slice, 1,257 training points, 1 thread (best of 3) ==")
    results = {}
    methods = (("naive loop", naive_slice), ("course slice_2d", L.slice_2d), ("vmap per row", vmap_slice))
    for name, fn in methods:
        fn(params, d1, d2, grid[:3], grid[:3], X, y)  # warm-up
        seconds, results[name] = best_of(lambda fn=fn: fn(params, d1, d2, grid, grid, X, y))
        print(f"{name:>16}: {seconds:6.3f} s")
    reference = results["naive loop"]
    for name, values in results.items():
        print(f"{name:>16}: max |difference| from naive {np.max(np.abs(values - reference)):.1e}")


def sharpness_table(seeds, steps):
    data = L.digits_data()
    X, y, Xt, yt = data["X_train"], data["y_train"], data["X_test"], data["y_test"]
    start = L.init_mlp(seeds)
    rows = {}
    for name, batch in (("SB (batch 16)", 16), (f"LB (batch {len(X)})", len(X))):
        t0 = time.perf_counter()
        trained = L.train_mlp(start, X, y, batch_size=batch, steps=steps, lr=0.1, seeds=seeds)
        t1 = time.perf_counter()
        rows[name] = {
            "lambda": L.sharpness(trained, X, y, iterations=20),
            "train_loss": L.mlp_loss(trained, X, y).detach().numpy(),
            "test_acc": L.mlp_accuracy(trained, Xt, yt),
        }
        print(f"{name}: trained {len(seeds)} seeds x {steps} steps in {t1 - t0:.1f} s, "
              f"sharpness in {time.perf_counter() - t1:.1f} s")
    print(f"\n== sharpness (top Hessian eigenvalue of the training loss), seeds {list(seeds)} ==")
    for name, row in rows.items():
        print(f"{name:>16}  λ_max {np.round(row['lambda'], 2)}  mean {row['lambda'].mean():.2f}  "
              f"median {np.median(row['lambda']):.2f}")
        print(f"{'':>16}  train loss mean {row['train_loss'].mean():.4f}, "
              f"test accuracy {np.round(row['test_acc'], 3)} mean {row['test_acc'].mean():.3f}")
    sb, lb = (row["lambda"] for row in rows.values())
    ratio = lb / sb
    print(f"{'LB / SB':>16}  ratio {np.round(ratio, 2)}  mean {ratio.mean():.2f}  "
          f"median {np.median(ratio):.2f}  ({np.sum(ratio > 1)} of {len(ratio)} above 1)")
    print(f"{'2 / lr':>16}  {2 / 0.1:.0f} (full-batch GD is stable only while λ_max < 2/lr)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--grid-only", action="store_true")
    args = parser.parse_args(argv)
    grid_timing()
    if not args.grid_only:
        print()
        sharpness_table(list(range(args.seeds)), args.steps)


if __name__ == "__main__":
    main()
