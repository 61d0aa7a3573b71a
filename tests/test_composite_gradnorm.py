"""Lesson 09's two-task network: gradient norms against torch's own losses and autograd.

Oracle: the same network, batch and start rebuilt here with
``torch.nn.functional.cross_entropy`` and a squared error written in torch,
differentiated by autograd, instead of the course's losses through the bridge.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course import data
from course.lessons.composite import SCHEMES, train_two_tasks


def torch_first_step_norms(seed, width=8, batch_size=64, n_train=1200):
    """The first step's ||grad of each task's loss w.r.t. the trunk||, from torch alone."""
    X, y = data.digits()
    train = np.random.default_rng(seed).permutation(y.size)[:n_train]
    X, y = torch.tensor(X), torch.tensor(y)
    torch.manual_seed(seed)
    trunk = torch.nn.Sequential(torch.nn.Linear(64, width), torch.nn.Tanh()).double()
    classify = torch.nn.Linear(width, 10).double()
    decode = torch.nn.Linear(width, 64).double()
    rows = torch.tensor(train)[torch.randint(0, n_train, (batch_size,),
                                             generator=torch.Generator().manual_seed(seed))]
    h = trunk(X[rows])
    task = [F.cross_entropy(classify(h), y[rows]), ((decode(h) - X[rows]) ** 2).sum() / batch_size]
    norms = []
    for loss in task:
        grads = torch.autograd.grad(loss, list(trunk.parameters()), retain_graph=True)
        norms.append(float(torch.sqrt(sum((g**2).sum() for g in grads))))
    return np.array(norms)


@pytest.mark.parametrize("seed", [0, 3])
def test_first_step_gradient_norms_match_torch(seed):
    result = train_two_tasks("equal", seed=seed, steps=1)
    np.testing.assert_allclose(result["grad_norms"][0], torch_first_step_norms(seed), rtol=1e-10)


def test_weights_of_each_scheme():
    equal = train_two_tasks("equal", seed=1, steps=20)
    assert np.all(equal["weights"] == 1.0)
    balanced = train_two_tasks("gradient norm", seed=1, steps=20)
    np.testing.assert_allclose(balanced["weights"] * balanced["grad_norms"], 1.0, rtol=1e-12)
    uncertain = train_two_tasks("uncertainty", seed=1, steps=20)
    np.testing.assert_allclose(uncertain["weights"][0], 1.0)          # s starts at 0
    assert not np.allclose(uncertain["weights"][-1], 1.0)             # and is learned


def test_same_seed_same_start_for_every_scheme():
    first = [train_two_tasks(s, seed=2, steps=1)["grad_norms"][0] for s in SCHEMES]
    np.testing.assert_array_equal(first[0], first[1])
    np.testing.assert_array_equal(first[0], first[2])


def test_unknown_scheme_is_refused():
    with pytest.raises(ValueError, match="scheme"):
        train_two_tasks("gradnorm")


@pytest.mark.parametrize("seed", [5])
def test_balancing_the_gradients_helps_the_classifier_on_a_sixth_seed(seed):
    """The notebook checks seeds 0-4; one more seed, same direction."""
    equal = train_two_tasks("equal", seed=seed)
    balanced = train_two_tasks("gradient norm", seed=seed)
    assert equal["grad_norms"][0, 1] > 30 * equal["grad_norms"][0, 0]
    assert balanced["accuracy"] > equal["accuracy"] + 0.02
