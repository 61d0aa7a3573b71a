"""course.gradcheck: it must accept right gradients and catch wrong ones."""

import numpy as np

from course.gradcheck import gradcheck, numerical_gradient


def test_numerical_gradient_of_a_closed_form():
    x = np.array([0.5, -1.0, 2.0])
    grad = numerical_gradient(lambda v: np.sum(np.sin(v) * v**2), x)
    np.testing.assert_allclose(grad, np.cos(x) * x**2 + 2 * x * np.sin(x), rtol=1e-8)


def test_accepts_a_correct_gradient_with_several_arguments():
    f = lambda a, b: a * b**2  # noqa: E731
    grad = lambda a, b: (b**2, 2 * a * b)  # noqa: E731
    result = gradcheck(f, grad, np.array([1.0, 2.0]), np.array([3.0, -1.0]), argnums=(0, 1))
    assert result.ok and result.max_rel_error < 1e-7


def test_reports_the_worst_coordinate_of_a_wrong_gradient():
    f = lambda x: np.sum(x**3)  # noqa: E731

    def wrong(x):
        g = 3 * x**2
        g[1, 2] += 0.5  # one bad coordinate
        return g

    x = np.arange(1.0, 7.0).reshape(2, 3)
    result = gradcheck(f, wrong, x)
    assert not result.ok
    assert result.worst_argument == 0 and result.worst_index == (1, 2)
    assert np.isclose(result.analytic_value - result.numeric_value, 0.5, atol=1e-5)
    assert "FAILED" in str(result) and "(1, 2)" in str(result)


def test_catches_a_flipped_sign_and_a_wrong_shape():
    f = lambda x: np.sum(x**2)  # noqa: E731
    x = np.array([1.0, 2.0])
    assert not gradcheck(f, lambda x: -2 * x, x)
    result = gradcheck(f, lambda x: 2 * x[:1], x)
    assert not result.ok and "shape" in str(result)


def test_nan_gradient_fails():
    assert not gradcheck(lambda x: np.sum(x), lambda x: np.full_like(x, np.nan), np.ones(3))


def test_works_on_float32_input_by_checking_in_float64():
    x = np.array([0.1, 0.2], dtype=np.float32)
    assert gradcheck(lambda v: np.sum(np.exp(v)), lambda v: np.exp(v), x)
