"""course.lessons.landscape against independent oracles: torch autograd, dense eigensolvers,
finite differences."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from course import losses
from course.gradcheck import numerical_gradient
from course.lessons import landscape as L

torch.set_num_threads(1)


# ------------------------------------------------------------- two parameters
def _torch_problem_loss(problem, w):
    """The problem's loss rebuilt in torch from its definition (an independent implementation)."""
    x, y = torch.tensor(problem.x), torch.tensor(problem.y)
    if problem is BOWL:
        prediction = w[0] * x + w[1]
    else:
        hidden = torch.tanh(w[0] * x + L.NET_BIAS), torch.tanh(w[1] * x + L.NET_BIAS)
        prediction = hidden[0] + L.NET_OUTPUT_WEIGHT * hidden[1]
    return F.mse_loss(prediction, y)


BOWL, NET = L.bowl_problem(), L.two_unit_net_problem()


@pytest.mark.parametrize("problem", [BOWL, NET], ids=["bowl", "net"])
def test_two_parameter_loss_and_gradient_match_torch(problem):
    rng = np.random.default_rng(0)
    for point in rng.uniform(-3, 3, size=(5, 2)):
        w = torch.tensor(point, requires_grad=True)
        expected = _torch_problem_loss(problem, w)
        expected.backward()
        assert np.isclose(problem.loss(*point), expected.item(), rtol=1e-12)
        np.testing.assert_allclose(problem.grad(point), w.grad.numpy(), rtol=1e-10, atol=1e-12)
        fd = numerical_gradient(lambda v: problem.loss(*v), point)
        np.testing.assert_allclose(problem.grad(point), fd, rtol=1e-6, atol=1e-8)


def test_loss_surface_is_the_pointwise_loss():
    W1, W2, Z = L.loss_surface(NET, n=7)
    assert W1.shape == W2.shape == Z.shape == (7, 7)
    assert W1[0, 0] == NET.extent[0] and W2[-1, 0] == NET.extent[3]
    for i, j in [(0, 0), (3, 5), (6, 2)]:
        assert np.isclose(Z[i, j], NET.loss(W1[i, j], W2[i, j]))


def test_bowl_minimum_is_least_squares_and_hessian_is_constant():
    design = np.column_stack([BOWL.x, np.ones_like(BOWL.x)])
    solution = np.linalg.lstsq(design, BOWL.y, rcond=None)[0]
    assert np.linalg.norm(BOWL.grad(solution)) < 1e-10
    hessian = 2 / len(BOWL.x) * design.T @ design
    for point in ([0.0, 0.0], [3.0, -2.0]):
        fd_hessian = np.array([L.finite_difference_hvp(BOWL.grad, point, e) for e in np.eye(2)])
        np.testing.assert_allclose(fd_hessian, hessian, rtol=1e-6)


def test_the_net_has_a_saddle_and_two_minima_of_different_depth():
    saddle = np.array([0.76, 0.76])
    assert np.linalg.norm(NET.grad(saddle)) < 1e-4
    hessian = torch.autograd.functional.hessian(lambda w: _torch_problem_loss(NET, w), torch.tensor(saddle))
    eigenvalues = np.linalg.eigvalsh(hessian.numpy())
    assert eigenvalues[0] < 0 < eigenvalues[1]
    deep = L.gradient_descent_path(NET.grad, (-2.0, -2.5), lr=0.5, steps=300)[-1]
    shallow = L.gradient_descent_path(NET.grad, (-2.5, -2.0), lr=0.5, steps=300)[-1]
    assert NET.loss(*deep) < 0.002 < 0.07 < NET.loss(*shallow) < 0.08


@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.9])
def test_gradient_descent_path_takes_torch_sgd_steps(momentum):
    start, lr, steps = np.array([-1.0, 2.0]), 0.3, 25
    path = L.gradient_descent_path(NET.grad, start, lr=lr, momentum=momentum, steps=steps)
    w = torch.tensor(start, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=lr, momentum=momentum)
    expected = [start.copy()]
    for _ in range(steps):
        optimizer.zero_grad()
        _torch_problem_loss(NET, w).backward()
        optimizer.step()
        expected.append(w.detach().numpy().copy())
    np.testing.assert_allclose(path, np.array(expected), rtol=1e-10, atol=1e-12)


def test_gradient_descent_stops_when_it_escapes_and_rejects_bad_settings():
    path = L.gradient_descent_path(lambda w: 10 * w, [1.0], lr=1.0, steps=100)  # factor -9 per step
    assert len(path) < 101 and np.abs(path[-1]).max() >= 1e6
    for kwargs in ({"lr": 0.0}, {"lr": 0.1, "momentum": 1.0}, {"lr": 0.1, "steps": -1}):
        with pytest.raises(ValueError):
            L.gradient_descent_path(lambda w: w, [1.0], **kwargs)


def _quadratic(rng, d):
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    values = np.geomspace(1.0, 20.0, d)
    return (q * values) @ q.T, rng.normal(size=d), values[-1]


@pytest.mark.parametrize("momentum", [0.0, 0.7])
def test_quadratic_momentum_path_matches_torch_sgd(momentum):
    rng = np.random.default_rng(1)
    A, b, _ = _quadratic(rng, 4)
    start = rng.normal(size=4)
    path = L.quadratic_momentum_path(A, b, start, 0.05, momentum, 30)
    w = torch.tensor(start, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=0.05, momentum=momentum)
    At, bt = torch.tensor(A), torch.tensor(b)
    for k in range(30):
        optimizer.zero_grad()
        (0.5 * w @ At @ w - bt @ w).backward()
        optimizer.step()
        np.testing.assert_allclose(path[k + 1], w.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert path.shape == (31, 4) and np.array_equal(path[0], start)


def test_quadratic_step_size_limit_is_two_over_lambda_max():
    rng = np.random.default_rng(2)
    A, b, top = _quadratic(rng, 3)
    solution = np.linalg.solve(A, b)
    start = solution + rng.normal(size=3)
    error = lambda lr, m=0.0: np.linalg.norm(
        L.quadratic_momentum_path(A, b, start, lr, m, 400)[-1] - solution)
    assert error(0.95 * 2 / top) < 1e-3
    assert error(1.05 * 2 / top) > 1e3
    assert error(1.05 * 2 / top, 0.5) < 1e-3  # momentum m raises the limit to 2(1 + m)/λmax
    assert L.quadratic_momentum_path(A, b, start, 0.1, 0.5, 0).shape == (1, 3)
    with pytest.raises(ValueError, match="start"):
        L.quadratic_momentum_path(A, b, start[:2], 0.1, 0.0, 3)


# ----------------------------------------------------------- filter_normalize
@settings(max_examples=40, deadline=None)
@given(shape=st.sampled_from([(4, 3), (2, 3, 2, 2), (5,)]), scale=st.floats(1e-3, 1e3),
       seed=st.integers(0, 10**6))
def test_filter_normalize_gives_each_filter_the_weights_norm(shape, scale, seed):
    rng = np.random.default_rng(seed)
    d, w = scale * rng.normal(size=shape), rng.normal(size=shape)
    out = L.filter_normalize(d, w, eps=0.0)  # exact; the default eps=1e-10 only guards 0/0
    norms = lambda a: np.sqrt((a.reshape(shape[0], -1) ** 2).sum(1))
    np.testing.assert_allclose(norms(out), norms(w), rtol=1e-9)
    # each filter keeps its direction (a positive multiple of the input filter)
    cos = (out * d).reshape(shape[0], -1).sum(1) / (norms(out) * norms(d))
    np.testing.assert_allclose(cos, 1.0, rtol=1e-9)
    # invariant to the direction's scale, equivariant in the weights' scale
    np.testing.assert_allclose(L.filter_normalize(7.0 * d, w, eps=0.0), out, rtol=1e-9)
    np.testing.assert_allclose(L.filter_normalize(d, 3.0 * w, eps=0.0), 3.0 * out, rtol=1e-9)
    # the default eps=1e-10 moves each filter by at most eps / its norm, relatively
    # (for shape (5,) a filter is one number, which hypothesis may draw as small as ~1e-6)
    np.testing.assert_allclose(L.filter_normalize(d, w), out, rtol=1.01e-10 / norms(d).min() + 1e-12)


def test_filter_normalize_edges():
    rng = np.random.default_rng(3)
    d, w = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    d[1] = 0.0
    out = L.filter_normalize(d, w)
    assert np.all(np.isfinite(out)) and np.all(out[1] == 0)
    out32 = L.filter_normalize(d.astype(np.float32), w.astype(np.float32))
    assert out32.dtype == np.float32 and np.allclose(out32, out, rtol=1e-5)
    for bad in ((d, w.T), (np.float64(1.0), np.float64(2.0))):
        with pytest.raises(ValueError, match="same shape"):
            L.filter_normalize(*bad)


# ---------------------------------------------------- power iteration and HVP
def _symmetric(rng, values):
    q, _ = np.linalg.qr(rng.normal(size=(len(values), len(values))))
    return (q * np.asarray(values)) @ q.T


@pytest.mark.parametrize("seed", range(4))
def test_top_eigenvalue_matches_eigvalsh(seed):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(8, 8))
    A = A + A.T + np.diag(rng.choice([-1, 1]) * 6.0 * np.eye(8)[0])  # make one eigenvalue stand out
    eigenvalues = np.linalg.eigvalsh(A)
    dominant = eigenvalues[np.argmax(np.abs(eigenvalues))]
    second = np.sort(np.abs(eigenvalues))[-2]
    steps = int(np.ceil(np.log(1e-14) / (2 * np.log(second / abs(dominant))))) + 5
    assert np.isclose(L.top_eigenvalue(A, rng.normal(size=8), steps), dominant, rtol=1e-8)


def test_power_iteration_keeps_the_sign_and_returns_the_eigenvector():
    rng = np.random.default_rng(5)
    A = _symmetric(rng, [-6.0, 3.0, 1.0])
    value, vector = L.power_iteration(lambda v: A @ v, rng.normal(size=3), 200)
    assert np.isclose(value, -6.0) and np.allclose(A @ vector, -6.0 * vector, atol=1e-8)
    v0 = rng.normal(size=3)
    assert np.isclose(L.top_eigenvalue(A, v0, 1), v0 @ A @ v0 / (v0 @ v0))  # one step: the Rayleigh quotient
    with pytest.raises(ValueError):
        L.top_eigenvalue(rng.normal(size=(3, 4)), v0, 5)
    with pytest.raises(ValueError):
        L.top_eigenvalue(A, np.zeros(3), 5)


def test_logistic_hvp_matches_the_torch_hessian_and_ignores_labels():
    rng = np.random.default_rng(6)
    X, w, v = rng.normal(size=(30, 4)), rng.normal(size=4), rng.normal(size=4)
    y = (rng.random(30) < 0.5).astype(float)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    loss = lambda wt: F.binary_cross_entropy_with_logits(Xt @ wt, yt)
    hessian = torch.autograd.functional.hessian(loss, torch.tensor(w)).numpy()
    np.testing.assert_allclose(L.logistic_hvp(w, X, y, v), hessian @ v, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(L.logistic_hvp(w, X, 1 - y, v), hessian @ v, rtol=1e-10, atol=1e-13)
    wt = torch.tensor(w, requires_grad=True)
    loss(wt).backward()
    np.testing.assert_allclose(L.logistic_grad(w, X, y), wt.grad.numpy(), rtol=1e-10, atol=1e-13)
    fd = L.finite_difference_hvp(lambda u: L.logistic_grad(u, X, y), w, v, eps=1e-5)
    np.testing.assert_allclose(fd, hessian @ v, rtol=1e-7, atol=1e-10)
    with pytest.raises(ValueError):
        L.logistic_hvp(w, X, y, v[:3])


# ----------------------------------------------------------------- torch MLP
@pytest.fixture(scope="module")
def digits():
    data = L.digits_data()
    return {k: v[:300] if k.endswith("train") else v for k, v in data.items()}


TINY = (5, 4, 3, 3)


def _tiny_data(n=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, TINY[0], generator=g, dtype=torch.float64)
    return X, torch.randint(0, TINY[-1], (n,), generator=g)


def _flat_loss(params_like, X, y):
    shapes = [p.shape for p in params_like]

    def loss(flat):
        params, i = [], 0
        for shape in shapes:
            size = int(np.prod(shape))
            params.append(flat[i:i + size].view(shape))
            i += size
        return L.mlp_loss(params, X, y).sum()

    return loss


def test_digits_split_and_mlp_match_torch_linear_layers(digits):
    full = L.digits_data()
    assert full["X_train"].shape == (1257, 64) and full["X_test"].shape == (540, 64)
    assert float(full["X_train"].max()) <= 1.0
    params = L.init_mlp([3, 4])
    assert sum(p[0].numel() for p in params) == 3466
    X, y = digits["X_train"], digits["y_train"]
    for copy in (0, 1):
        net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 32),
                                  torch.nn.ReLU(), torch.nn.Linear(32, 10))
        with torch.no_grad():
            for layer, (W, b) in zip(net[::2], zip(params[::2], params[1::2])):
                layer.weight.copy_(W[copy])
                layer.bias.copy_(b[copy])
            logits = net(X)
            assert torch.allclose(L.mlp_logits(params, X)[copy], logits, atol=1e-5)
            expected = losses.cross_entropy(logits.double().numpy(), y.numpy())
            assert np.isclose(float(L.mlp_loss(params, X, y)[copy]), expected, rtol=1e-5)
    # stacked initialisation = initialising each seed alone, within torch.nn.Linear's bounds
    alone = L.init_mlp(4)
    assert all(torch.equal(a[0], b[1]) for a, b in zip(alone, params))
    assert float(params[0].abs().max()) <= 1 / 8


def test_stacked_training_equals_training_each_seed_alone(digits):
    X, y = digits["X_train"], digits["y_train"]
    for batch in (16, len(X)):
        together = L.train_mlp(L.init_mlp([0, 1]), X, y, batch_size=batch, steps=15, lr=0.1, seeds=[0, 1])
        alone = L.train_mlp(L.init_mlp(1), X, y, batch_size=batch, steps=15, lr=0.1, seeds=1)
        for a, b in zip(together, alone):
            torch.testing.assert_close(a[1], b[0], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="seeds"):
        L.train_mlp(L.init_mlp([0, 1]), X, y, 16, 1, seeds=[0, 1, 2])


def test_full_batch_training_is_gradient_descent_and_lowers_the_loss(digits):
    X, y = digits["X_train"], digits["y_train"]
    start = L.init_mlp(0)
    one_step = L.train_mlp(start, X, y, batch_size=len(X), steps=1, lr=0.5)
    grads = L.mlp_gradient(start, X, y)
    for p, g, q in zip(start, grads, one_step):
        torch.testing.assert_close(q, p - 0.5 * g)
    trained = L.train_mlp(start, X, y, batch_size=len(X), steps=100, lr=0.5)
    assert float(L.mlp_loss(trained, X, y)[0]) < 0.5 * float(L.mlp_loss(start, X, y)[0])
    assert L.mlp_accuracy(trained, X, y)[0] > 0.8


def test_hvp_and_sharpness_match_the_explicit_hessian():
    X, y = _tiny_data()
    params = [p.double() for p in L.init_mlp([0, 1], sizes=TINY)]
    params = L.train_mlp(params, X, y, batch_size=len(X), steps=200, lr=0.5, seeds=[0, 1])
    v = L.random_direction(params, seed=2)
    products = L.flatten(L.hessian_vector_product(params, X, y, v))
    tops = L.sharpness(params, X, y, iterations=300)
    for copy in (0, 1):
        single = L.copy_of(params, copy)
        hessian = torch.autograd.functional.hessian(_flat_loss(single, X, y), L.flatten(single)[0])
        torch.testing.assert_close(products[copy], hessian @ L.flatten([t[copy:copy + 1] for t in v])[0])
        eigenvalues = np.linalg.eigvalsh(hessian.numpy())
        dominant = eigenvalues[np.argmax(np.abs(eigenvalues))]
        assert np.isclose(tops[copy], dominant, rtol=1e-4)


def test_filter_normalized_direction_matches_the_numpy_rule():
    params = L.init_mlp([0, 1])
    raw = L.random_direction(params, seed=1)
    normed = L.filter_normalize_direction(raw, params)
    for k, (d, p, r) in enumerate(zip(normed, params, raw)):
        if k % 2:
            assert torch.count_nonzero(d) == 0  # no bias directions
        else:
            for copy in (0, 1):
                expected = L.filter_normalize(r[copy].numpy(), p[copy].numpy())
                np.testing.assert_allclose(d[copy].numpy(), expected, rtol=1e-5, atol=1e-7)


def test_slices_and_interpolation_evaluate_the_loss_at_the_right_points(digits):
    X, y = digits["X_train"], digits["y_train"]
    net = L.init_mlp(0)
    d1 = L.filter_normalize_direction(L.random_direction(net, 1), net)
    d2 = L.random_direction(net, 2)  # not normalized: biases move too
    alphas, betas = np.array([-0.5, 0.0, 0.25]), np.array([0.0, 0.75])
    grid = L.slice_2d(net, d1, d2, alphas, betas, X, y)
    assert grid.shape == (2, 3)
    for j, b in enumerate(betas):
        for i, a in enumerate(alphas):
            moved = [p + a * u + b * w for p, u, w in zip(net, d1, d2)]
            assert np.isclose(grid[j, i], float(L.mlp_loss(moved, X, y)[0]), rtol=1e-5)
    expected = [float(L.mlp_loss([p + a * w for p, w in zip(net, d2)], X, y)[0]) for a in alphas]
    np.testing.assert_allclose(L.slice_1d(net, d2, alphas, X, y), expected, rtol=1e-6)
    end = L.init_mlp(1)
    line = L.interpolation_losses(net, end, [0.0, 1.0], X, y)
    np.testing.assert_allclose(line, [float(L.mlp_loss(net, X, y)[0]), float(L.mlp_loss(end, X, y)[0])],
                               rtol=1e-6)
    with pytest.raises(ValueError, match="one network"):
        L.slice_2d(L.init_mlp([0, 1]), d1, d2, alphas, betas, X, y)


def test_rescaling_keeps_the_function_changes_sharpness_not_the_normalized_slice(digits):
    X, y = digits["X_train"], digits["y_train"]
    net = L.train_mlp(L.init_mlp(0), X, y, batch_size=len(X), steps=200, lr=0.5)
    rescaled = L.rescale_layer(net, layer=0, factor=5.0)
    with torch.no_grad():
        torch.testing.assert_close(L.mlp_logits(rescaled, X), L.mlp_logits(net, X), rtol=1e-4, atol=1e-4)
    assert float(L.sharpness(rescaled, X, y)[0]) > 2 * float(L.sharpness(net, X, y)[0])
    raw = L.random_direction(net, seed=3)
    alphas = np.linspace(-1, 1, 9)
    normalized = [L.slice_1d(n, L.filter_normalize_direction(raw, n), alphas, X, y) for n in (net, rescaled)]
    np.testing.assert_allclose(normalized[0], normalized[1], rtol=1e-4)
    raw_slices = [L.slice_1d(n, [0.05 * d for d in raw], alphas, X, y) for n in (net, rescaled)]
    assert np.max(np.abs(raw_slices[0] - raw_slices[1])) > 0.05
    for bad in ({"layer": 2, "factor": 2.0}, {"layer": 0, "factor": 0.0}):
        with pytest.raises(ValueError):
            L.rescale_layer(net, **bad)


def test_unknown_attribute_raises_attribute_error():
    with pytest.raises(AttributeError):
        L.no_such_thing  # noqa: B018
