"""Lesson 04's CTC lattice and brute force, against oracles written from the definitions.

Oracles: torch's ``F.ctc_loss`` for the brute-force sum; for the lattice, Graves et al.'s
definition of alpha as a sum over path *prefixes* (enumerated), and the lattice path of
each enumerated alignment (which gives the edges and the nodes that alignments use).
"""

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course import losses
from course.lessons.structured import collapse, ctc_brute_force, ctc_lattice, lattice_edges

TARGETS = [[1, 2], [1, 1], [2, 1, 2], [1], [2, 2, 1]]


def log_probs_for(rng, n_frames, n_symbols):
    return losses.log_softmax(rng.normal(size=(n_frames, n_symbols)), axis=-1)


def state_of(prefix, target, blank=0):
    """The extended-label row a path prefix sits on, or None if it is on no alignment's way.

    Row 2j+1 (the j-th label): the prefix collapses to the first j+1 labels and ends on that
    label; row 2j (a blank): it collapses to the first j labels and ends on a blank.
    """
    done = collapse(prefix, blank)
    if done != tuple(target[:len(done)]):
        return None
    return 2 * len(done) if prefix[-1] == blank else 2 * len(done) - 1


def test_collapse_merges_repeats_then_drops_blanks():
    assert collapse((1, 1, 2, 0)) == (1, 2)
    assert collapse((0, 1, 0, 2)) == (1, 2)
    assert collapse((1, 1, 1, 1)) == (1,)
    assert collapse((1, 0, 1)) == (1, 1)
    assert collapse((0, 0, 0)) == ()
    assert collapse((2, 2, 1), blank=2) == (1,)


@pytest.mark.parametrize("target", TARGETS)
def test_brute_force_matches_torch(rng, target):
    lp = log_probs_for(rng, 5, 3)
    alignments, loss = ctc_brute_force(lp, target)
    ref = F.ctc_loss(torch.tensor(lp)[:, None, :], torch.tensor([target]), [5], [len(target)],
                     reduction="sum")
    np.testing.assert_allclose(loss, ref.item(), rtol=1e-10)
    assert all(collapse(a) == tuple(target) for a in alignments)
    # every other path collapses to something else
    others = set(itertools.product(range(3), repeat=5)) - set(alignments)
    assert all(collapse(p) != tuple(target) for p in others)


@pytest.mark.parametrize("target", TARGETS)
def test_each_alpha_is_the_sum_over_the_prefixes_reaching_its_node(rng, target):
    n_frames, n_symbols = 5, 3
    lp = log_probs_for(rng, n_frames, n_symbols)
    alpha = ctc_lattice(lp, target)["alpha"]
    expected = np.zeros_like(alpha)
    for t in range(n_frames):
        for prefix in itertools.product(range(n_symbols), repeat=t + 1):
            s = state_of(prefix, target)
            if s is not None and 0 <= s < alpha.shape[1]:
                expected[t, s] += np.exp(lp[np.arange(t + 1), list(prefix)].sum())
    np.testing.assert_allclose(alpha, expected, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("target", TARGETS)
def test_total_is_the_brute_force_sum_and_counts_alignments_with_unit_probabilities(rng, target):
    lp = log_probs_for(rng, 5, 3)
    alignments, loss = ctc_brute_force(lp, target)
    lattice = ctc_lattice(lp, target)
    np.testing.assert_allclose(lattice["total"], np.exp(-loss), rtol=1e-12)
    last = lattice["alpha"][-1]
    np.testing.assert_allclose(lattice["total"], last[-1] + (last[-2] if last.size > 1 else 0),
                               rtol=1e-12)
    assert ctc_lattice(np.zeros((5, 3)), target)["total"] == pytest.approx(len(alignments))


@pytest.mark.parametrize("target", TARGETS)
def test_edges_and_nodes_are_those_the_alignments_use(rng, target):
    n_frames = 5
    lattice = ctc_lattice(log_probs_for(rng, n_frames, 3), target)
    alignments, _ = ctc_brute_force(np.zeros((n_frames, 3)), target)
    used_edges, used_nodes = set(), set()
    for path in alignments:
        rows = [state_of(path[:t + 1], target) for t in range(n_frames)]
        used_nodes |= {(t, s) for t, s in enumerate(rows)}
        used_edges |= {(t, rows[t], rows[t + 1]) for t in range(n_frames - 1)}
    assert set(lattice_edges(lattice)) == used_edges
    assert {tuple(n) for n in np.argwhere(lattice["on_a_path"])} == used_nodes


def test_repeated_labels_lose_the_skip_and_the_final_states_are_the_last_two():
    ab = ctc_lattice(np.zeros((4, 3)), [1, 2])
    aa = ctc_lattice(np.zeros((4, 3)), [1, 1])
    assert (1, 3) in ab["moves"] and (1, 3) not in aa["moves"]
    assert not any(b - a == 2 for a, b in aa["moves"])
    assert ab["final"] == aa["final"] == [3, 4]
    assert list(ab["extended"]) == [0, 1, 0, 2, 0]


def test_bad_input_raises_value_error():
    with pytest.raises(ValueError, match="log_probs"):
        ctc_brute_force(np.zeros(4), [1])
    with pytest.raises(ValueError, match="log_probs"):
        ctc_lattice(np.zeros((4, 2, 3)), [1])
    with pytest.raises(ValueError, match="targets"):
        ctc_lattice(np.zeros((4, 3)), [5])
