"""Every loss of the course and its gradient, in plain NumPy.

Losses are grouped by family, one module each; this package re-exports them
all, so ``from course.losses import huber_loss, huber_loss_grad`` works.

Each loss ``name(...)`` has a twin ``name_grad(...)`` taking the same
arguments and returning the gradient of the returned loss (for
``reduction="none"``: of its sum). Names, arguments and semantics follow
``torch.nn.functional`` wherever PyTorch has the loss. This package never
imports torch.
"""

from . import (
    classification,
    composite,
    imbalance,
    likelihood,
    regression,
    regularization,
    structured,
    surrogates,
)
from ._common import log_softmax, logsumexp, sigmoid, softmax, softplus  # noqa: F401
from .classification import *  # noqa: F401,F403
from .composite import *  # noqa: F401,F403
from .imbalance import *  # noqa: F401,F403
from .likelihood import *  # noqa: F401,F403
from .regression import *  # noqa: F401,F403
from .regularization import *  # noqa: F401,F403
from .structured import *  # noqa: F401,F403
from .surrogates import *  # noqa: F401,F403

FAMILIES = {
    "regression": regression,
    "classification": classification,
    "likelihood": likelihood,
    "imbalance": imbalance,
    "regularization": regularization,
    "surrogates": surrogates,
    "structured": structured,
    "composite": composite,
}

__all__ = sorted(
    {name for module in FAMILIES.values() for name in module.__all__}
    | {"log_softmax", "logsumexp", "sigmoid", "softmax", "softplus"}
)
