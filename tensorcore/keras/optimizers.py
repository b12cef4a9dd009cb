"""Keras optimizers: configuration objects that build the matching tensorcore.optim optimizer.

Both `learning_rate=` and the old `lr=` are accepted. The update rules are tensorcore.optim's
(PyTorch's formulas); Keras' defaults are kept (Adam epsilon 1e-7, RMSprop rho 0.9, ...).
"""

from .. import optim


class Optimizer:
    """Base: holds hyperparameters; `build(params)` makes the tensorcore.optim optimizer (done by compile)."""

    def __init__(self, learning_rate=0.001, lr=None, clipnorm=None, clipvalue=None, name=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected arguments {sorted(kwargs)}")
        self._learning_rate = float(lr if lr is not None else learning_rate)
        self.clipnorm, self.clipvalue = clipnorm, clipvalue
        self.name = name or type(self).__name__
        self.inner = None

    @property
    def learning_rate(self):
        if self.inner is not None:
            return self.inner.param_groups[0]["lr"]
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self._learning_rate = float(value)
        if self.inner is not None:
            for group in self.inner.param_groups:
                group["lr"] = float(value)

    lr = learning_rate

    def build(self, params):
        self.inner = self._make(list(params))
        return self.inner

    def _make(self, params):
        raise NotImplementedError

    def step(self, params):
        """Clip (if asked) and apply the update."""
        if self.clipnorm is not None:
            from ..nn.utils import clip_grad_norm_

            clip_grad_norm_(params, self.clipnorm)
        if self.clipvalue is not None:
            from ..nn.utils import clip_grad_value_

            clip_grad_value_(params, self.clipvalue)
        self.inner.step()

    def get_config(self):
        return {k: v for k, v in self.__dict__.items() if k != "inner"}


class SGD(Optimizer):
    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.momentum, self.nesterov, self.weight_decay = momentum, nesterov, weight_decay

    def _make(self, params):
        return optim.SGD(params, lr=self._learning_rate, momentum=self.momentum, nesterov=self.nesterov,
                         weight_decay=self.weight_decay or 0.0)


class Adam(Optimizer):
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, weight_decay=None,
                 **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad
        self.weight_decay = weight_decay

    def _make(self, params):
        return optim.Adam(params, lr=self._learning_rate, betas=(self.beta_1, self.beta_2), eps=self.epsilon,
                          amsgrad=self.amsgrad, weight_decay=self.weight_decay or 0.0)


class AdamW(Adam):
    def __init__(self, learning_rate=0.001, weight_decay=0.004, **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, **kwargs)

    def _make(self, params):
        return optim.AdamW(params, lr=self._learning_rate, betas=(self.beta_1, self.beta_2), eps=self.epsilon,
                           amsgrad=self.amsgrad, weight_decay=self.weight_decay)


class RMSprop(Optimizer):
    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered

    def _make(self, params):
        return optim.RMSprop(params, lr=self._learning_rate, alpha=self.rho, eps=self.epsilon,
                             momentum=self.momentum, centered=self.centered)


class Adagrad(Optimizer):
    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def _make(self, params):
        return optim.Adagrad(params, lr=self._learning_rate, eps=self.epsilon,
                             initial_accumulator_value=self.initial_accumulator_value)


_BY_NAME = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad}


def get(identifier):
    """An optimizer from a name ('adam', 'sgd', 'rmsprop', ...) or an Optimizer instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(f"unknown optimizer {identifier!r}; known: {', '.join(sorted(_BY_NAME))}")
