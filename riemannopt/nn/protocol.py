"""The protocol every training method's optimizer follows (see :mod:`riemannopt.nn.methods`)."""

from dataclasses import dataclass
from typing import Protocol

__all__ = ["Optimizer", "Update", "RunSettings"]


@dataclass
class Update:
    """What an optimizer's ``step`` returns.

    Attributes
    ----------
    theta : array
        The new θ (a backend vector; earlier ones stay valid).
    record : dict
        The history's ``damping``, ``cg_iterations``, ``rho``, ``rate``, ``corrected``.
    evaluation : Evaluation or None
        The objective at ``theta`` if the step computed it (else the loop does, untimed).
    """

    theta: object
    record: dict
    evaluation: object = None


class Optimizer(Protocol):
    """The protocol every method's optimizer follows (see the module docstring)."""

    def initial(self) -> dict: ...

    def warm_up(self, theta) -> None: ...

    def step(self, k: int, ev) -> Update: ...

    def state(self) -> dict: ...

    def load(self, state: dict, theta, done: int) -> None: ...


@dataclass(frozen=True)
class RunSettings:
    """The validated settings of one :func:`~riemannopt.nn.train` run that optimizers use."""

    seed: int
    damping: float
    threshold: float
    max_cg: int
    chunks: int
    curvature: str
    curvature_X: object
    curvature_T: object
    lr: float
    batch_size: int
    cg_options: dict
    kind: str  # the error the paper reports (objective.error_kind)
    rho: str = "chunk"
    ng_batch: object = None  # ng's gradient minibatch (None: all the data, with a line search)
    ng_rate: float = 1.0  # ng's fixed rate with ng_batch
    ncg_search: str = "cobyla"
