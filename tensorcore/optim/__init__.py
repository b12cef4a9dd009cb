"""tensorcore.optim: optimizers and learning-rate schedules (PyTorch's names and update formulas).

Example:
    opt = tc.optim.Adam(model.parameters(), lr=1e-3)
    for x, y in loader:
        opt.zero_grad()
        loss = tc.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
"""

from . import lr_scheduler, swa_utils
from .adafactor import Adafactor, SparseAdam
from .adagrad import Adagrad, adagrad_update
from .adam import Adam, AdamW, adam_update
from .adam_variants import Adadelta, Adamax, NAdam, RAdam
from .lbfgs import LBFGS
from .optimizer import Optimizer, OptimizerError
from .rmsprop import RMSprop, rmsprop_update
from .rprop_asgd import ASGD, Rprop
from .sgd import SGD, sgd_update

__all__ = [
    "ASGD",
    "LBFGS",
    "Rprop",
    "SGD",
    "Adadelta",
    "Adafactor",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "NAdam",
    "RAdam",
    "Optimizer",
    "OptimizerError",
    "RMSprop",
    "SparseAdam",
    "adagrad_update",
    "adam_update",
    "lr_scheduler",
    "swa_utils",
    "rmsprop_update",
    "sgd_update",
]
