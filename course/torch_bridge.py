"""Train a torch model on a course loss: wrap a NumPy pair as an autograd Function.

Every loss in :mod:`course.losses` comes with its gradient, so torch does not
need to differentiate it: the forward pass calls the NumPy loss, the backward
pass calls the NumPy ``_grad`` and hands the result back to autograd, which
carries it on through the model::

    >>> from course.losses import mse_loss, mse_loss_grad
    >>> from course.torch_bridge import as_torch_loss
    >>> loss_fn = as_torch_loss(mse_loss, mse_loss_grad)
    >>> loss = loss_fn(model(x), y)      # a 0-d tensor with a grad_fn
    >>> loss.backward()                  # model.grad filled via mse_loss_grad

If the model then learns exactly as it does with ``F.mse_loss``, the course's
gradient is right; this is how the tests check every wrapped loss.

Each call converts the tensors to NumPy (detached, on the CPU), so it costs
a copy for tensors on a GPU and is meant for learning, not for speed.
"""

from __future__ import annotations

import inspect
from typing import Callable, Iterable

import numpy as np
import torch

__all__ = ["as_torch_loss"]


def _to_numpy(value):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return value


def _to_tensor(array, dtype: torch.dtype, device) -> torch.Tensor:
    array = np.asarray(array)
    if not array.flags.c_contiguous:  # from_numpy refuses negative strides
        array = array.copy()
    return torch.from_numpy(array).to(dtype=dtype, device=device)


def _vector_jacobian(grad: np.ndarray, grad_output: torch.Tensor, name: str) -> np.ndarray:
    """Chain the loss's gradient with the gradient flowing into its output.

    ``grad`` is the gradient of the *sum* of the loss's output. That is the
    exact vector-Jacobian product when ``grad_output`` is the same number
    everywhere (a reduced loss, or ``.sum()``/``.mean()`` of a "none" loss);
    for an elementwise loss (output shaped like the argument) the product is
    elementwise. Anything else cannot be recovered from the summed gradient.
    """
    upstream = grad_output.detach().cpu().numpy()
    if upstream.size == 0:
        return np.zeros_like(grad)
    first = upstream.reshape(-1)[0]
    if np.all(upstream == first):
        return grad * first
    if upstream.shape == grad.shape:
        return grad * upstream
    raise ValueError(
        f"cannot chain the gradient w.r.t. {name!r} through a non-uniform upstream "
        f"gradient of shape {upstream.shape}: the loss's _grad is the gradient of the "
        "summed loss; reduce with sum() or mean(), or use reduction='mean'/'sum'"
    )


class _NumpyLoss(torch.autograd.Function):
    """forward: the NumPy loss; backward: the NumPy gradient times grad_output."""

    @staticmethod
    def forward(ctx, spec, *tensors):
        loss, loss_grad, bound, names = spec
        arrays = {key: _to_numpy(value) for key, value in bound.arguments.items()}
        call = inspect.BoundArguments(bound.signature, arrays)
        ctx.saved = (loss_grad, call, names, [(t.dtype, t.device) for t in tensors])
        value = loss(*call.args, **call.kwargs)
        return _to_tensor(value, tensors[0].dtype, tensors[0].device)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_output):
        loss_grad, call, names, places = ctx.saved
        needed = ctx.needs_input_grad[1:]
        if not any(needed):
            return (None,) * (1 + len(names))
        grads = loss_grad(*call.args, **call.kwargs)
        grads = (grads,) if len(names) == 1 else grads
        if not isinstance(grads, tuple) or len(grads) != len(names):
            raise ValueError(f"loss_grad must return one gradient per argument in {names}")
        out = [None]  # for spec
        for name, grad, need, (dtype, device) in zip(names, grads, needed, places, strict=True):
            if not need:
                out.append(None)
                continue
            chained = _vector_jacobian(np.asarray(grad), grad_output, name)
            out.append(_to_tensor(chained, dtype, device))
        return tuple(out)


def as_torch_loss(
    loss: Callable,
    loss_grad: Callable,
    differentiable: str | Iterable[str] | None = None,
    **fixed_options,
) -> Callable:
    """Wrap a course loss and its gradient as a differentiable torch function.

    Parameters
    ----------
    loss, loss_grad : callables
        A pair from :mod:`course.losses` (or any pair with the same
        protocol): same arguments; ``loss_grad`` returns the gradient of the
        summed loss w.r.t. each differentiated argument, a tuple when there
        are several.
    differentiable : str or sequence of str, optional
        The argument names ``loss_grad`` differentiates, in its order;
        default: the loss's first argument (``input``, ``inputs``, ...).
        For ``gaussian_nll_loss`` pass ``("input", "var")``.
    **fixed_options
        Keyword arguments bound once (``reduction="sum"``, ``gamma=0.5``);
        a call may still override them.

    Returns
    -------
    callable
        Takes the loss's arguments, with torch tensors for the
        differentiated ones (other arguments may be tensors, arrays or
        numbers), and returns a tensor of the differentiated tensors' dtype
        and device. Its backward multiplies ``loss_grad`` by the upstream
        gradient; arguments not differentiated receive no gradient.

    Notes
    -----
    Backward needs the upstream gradient to be uniform (a reduced loss, or
    ``.sum()``/``.mean()`` of a "none" loss) or shaped like the argument
    (an elementwise "none" loss, e.g. weighted by a tensor); otherwise it
    raises ``ValueError``. Double backward is not supported.
    """
    signature = inspect.signature(loss)
    parameters = list(signature.parameters)
    if differentiable is None:
        names = (parameters[0],)
    elif isinstance(differentiable, str):
        names = (differentiable,)
    else:
        names = tuple(differentiable)
    unknown = [n for n in names if n not in parameters]
    if unknown or not names:
        raise ValueError(
            f"differentiable must name arguments of {loss.__name__}{signature}, got {names}"
        )

    def torch_loss(*args, **kwargs):
        bound = signature.bind(*args, **{**fixed_options, **kwargs})
        bound.apply_defaults()
        tensors = []
        for name in names:
            value = bound.arguments[name]
            if not isinstance(value, torch.Tensor):
                raise ValueError(f"{name} must be a torch.Tensor to be differentiated")
            tensors.append(value)
        return _NumpyLoss.apply((loss, loss_grad, bound, names), *tensors)

    torch_loss.__name__ = f"torch_{loss.__name__}"
    torch_loss.__doc__ = f"{loss.__name__} as a torch autograd function (see as_torch_loss)."
    return torch_loss
