"""The Keras Layer base class and symbolic KerasTensors (activations.py and initializers.py: by name).

Both layers.py and conv_layers.py (and the sequence layers) import from here; nothing here imports them.

A layer knows its configuration at construction and creates its weights once it learns its input
shape: `build(input_shape)` gets the full shape, batch axis first (None), as in Keras 3; the
attributes layer.input_shape / layer.output_shape (used by summaries) leave the batch axis out.
Calling a layer on a Tensor runs it (`call`); calling it on a KerasTensor (from keras.Input)
records a node of the functional graph and returns KerasTensors whose shapes come from running
the layer once on a small zero batch. Weights live in nn modules, listed by `modules()` as
(name, nn.Module) pairs: a model registers them, so its optimizer, state_dict and device moves see
every weight.

Two ways to write a layer, both as in Keras:
  * `add_weight(shape, initializer, name=...)` in build() and the math in call(inputs) (sequence layers);
  * nn modules created in build() and returned by modules(); the default call() chains them (Dense, Conv2D).
"""

import inspect
import threading

import numpy as np

from .. import nn
from ..errors import ArgumentError, ShapeError, TensorcoreError
from .initializers import initial_values, keras_fans
from .symbolic import KerasTensor, current_forward, current_training, flatten, map_structure


class KerasFileError(TensorcoreError, ValueError):
    """A .keras file that cannot be written or read safely; the message names the file and the problem."""


_budget = threading.local()  # bytes a model being loaded may still allocate (None: no limit)
MAX_PROBE_BYTES = 64 * 2**20  # while loading: the largest zero batch a shape probe may allocate


class allocation_budget:
    """Context manager: weights created inside may take at most `nbytes` in all (load_model sets it to the
    size of the file's weights, so a config cannot make the loader allocate more than the file holds)."""

    def __init__(self, nbytes):
        self.nbytes = int(nbytes)

    def __enter__(self):
        self.saved = getattr(_budget, "bytes", None)
        _budget.bytes = self.nbytes

    def __exit__(self, *exc):
        _budget.bytes = self.saved


def reserve(nbytes, what):
    """Account for an allocation of nbytes (while a model loads); refuse one over the budget."""
    left = getattr(_budget, "bytes", None)
    if left is None:
        return
    if nbytes > left:
        raise KerasFileError(f"{what} needs {nbytes:,} bytes, more than the file's weights hold ({left:,} left); "
                             "refused before allocating")
    _budget.bytes = left - nbytes


def probe_allowed(nbytes, what):
    """While a model loads, refuse a shape probe larger than MAX_PROBE_BYTES."""
    if getattr(_budget, "bytes", None) is not None and nbytes > MAX_PROBE_BYTES:
        raise KerasFileError(f"{what}: a probe batch of {nbytes:,} bytes while loading; refused")


def _set(p, w, layer):
    """Copy a NumPy weight into a Parameter or buffer of the same shape (no graph)."""
    w = np.asarray(w)
    if tuple(w.shape) != tuple(p.shape):
        raise ShapeError(f"{layer}: weight of shape {tuple(w.shape)} for a variable of shape {tuple(p.shape)}")
    nn.init._fill(p, w)


def _permute(x, axes):
    """x with its axes reordered (PyTorch's permute; NumPy's transpose(axes))."""
    return x.permute(*axes) if hasattr(x, "permute") else x.transpose(*axes)


def _reverse_steps(x):
    """x with axis 1 (the steps) reversed: PyTorch's flip(1) (slices with negative steps where it is missing)."""
    return x.flip(1) if hasattr(x, "flip") else x[:, ::-1]


def _array(t):
    """The backend array under a Tensor, without a copy."""
    return t._data if hasattr(t, "_data") else t.data


# --- the layer ---------------------------------------------------------------------------------------


class _Weights(nn.Module):
    """Holds the weights a layer creates with add_weight (trainable: parameters; others: buffers)."""

    def forward(self, *args):
        raise ArgumentError("a layer's weight holder is not callable; call the layer")


class Layer:
    """Base class. Subclasses set `base_name`, `config_keys` (the __init__ arguments get_config saves)
    and implement build() and call() (or modules(), chained by the default call())."""

    base_name = "layer"
    config_keys = ()
    supports_masking = False  # True: an input mask passes through to the output unchanged
    head = None  # "softmax" / "sigmoid" when the layer ends in that activation (fused with the loss)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "base_name" not in cls.__dict__:  # a layer of your own: MyLayer -> "my_layer", as Keras names it
            cls.base_name = snake_case(cls.__name__.lstrip("_"))

    def __init__(self, name=None, input_shape=None, input_dim=None, trainable=True, dtype=None,
                 activity_regularizer=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected arguments {sorted(kwargs)}")
        if input_dim is not None:
            input_shape = (int(input_dim),)
        self.name = name
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self.output_shape = None
        self.built = False
        self.trainable = trainable
        self.dtype = dtype
        self._weights = _Weights()
        self._weight_order = []  # (name, trainable) in creation order: Keras' weight order
        from .regularizers import get as get_regularizer

        self.activity_regularizer = get_regularizer(activity_regularizer)
        self._regularized = []  # (regularizer, weight): penalties added to the loss (layer.losses)
        self._activity_losses = []  # the activity penalties of the last forward pass (see _eager_call)

    # --- weights ---
    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True, name=None, regularizer=None,
                   **unused):
        """Keras 3's add_weight: a weight in Keras layout (a kernel is (in, out)); returns the Parameter (or a
        buffer when trainable=False). initializer: a name (default 'glorot_uniform') or callable(shape, dtype);
        regularizer: a keras regularizer whose penalty of this weight joins layer.losses."""
        unsupported = {k for k, v in unused.items() if v is not None and k not in ("autocast", "aggregation")}
        if unsupported:
            raise ArgumentError(f"add_weight: {sorted(unsupported)} not supported")
        shape = () if shape is None else shape
        initializer = initializer or "glorot_uniform"
        from ..tensor import tensor

        name = name or f"weight_{len(self._weight_order)}"
        shape = tuple(int(d) for d in shape)
        if any(d < 0 for d in shape):
            raise ShapeError(f"{self.name}: add_weight with a negative size {shape}")
        from ..dtypes import get_default_dtype

        dtype = np.dtype(dtype or self.dtype or get_default_dtype())
        reserve(int(np.prod(shape, dtype=np.float64)) * dtype.itemsize, f"{self.name}: weight {name} {shape}")
        if callable(initializer):
            values = np.asarray(initializer(shape, dtype), dtype=dtype)
        else:
            values = initial_values(initializer, shape, keras_fans(shape), dtype)
        if trainable:
            weight = nn.Parameter(values)
            self._weights.register_parameter(name, weight)
        else:
            weight = tensor(values, dtype=dtype)
            self._weights.register_buffer(name, weight)
        self._weight_order.append((name, trainable))
        self.add_regularizer(regularizer, weight)
        return weight

    def add_regularizer(self, regularizer, weight):
        """Add regularizer(weight) (a keras regularizer, a name or None) to this layer's losses."""
        from .regularizers import get as get_regularizer

        regularizer = get_regularizer(regularizer)
        if regularizer is not None:
            self._regularized.append((regularizer, weight))

    def add_loss(self, loss):
        """Add a scalar Tensor (computed in call()) to the model's loss, as Keras' Layer.add_loss; the losses
        added during one forward pass replace those of the previous one."""
        token = current_forward()
        if token is None or token is not getattr(self, "_added_token", None):
            self._added_losses, self._added_token = [], token
        self._adds_losses = True
        self._added_losses.append(loss)

    @property
    def losses(self):
        """The penalties to add to the loss: weight regularizers (of the current weights), the activity
        regularizer's and add_loss()'s of the last call, this layer's and its sublayers'."""
        out = [reg(w) for reg, w in self._regularized] + list(self._activity_losses)
        out += getattr(self, "_added_losses", [])
        for sub in self.sublayers():
            out += sub.losses
        return out

    def _own_weights(self):
        return [getattr(self._weights, n) for n, _ in self._weight_order]

    def __setattr__(self, name, value):  # layers assigned to attributes are tracked, as in Keras
        tracked = self.__dict__.setdefault("_tracked", [])
        if not name.startswith("_") and name not in ("net", "input_shape", "output_shape"):
            items = value if isinstance(value, (list, tuple)) else [value]
            for item in items:
                if isinstance(item, Layer) and all(item is not t for t in tracked):
                    tracked.append(item)
                    if item.name is None:  # named when tracked, as Keras names a layer when it is made
                        item.name = _unique_name(item.base_name, {t.name for t in tracked})
        object.__setattr__(self, name, value)

    def sublayers(self):
        """Layers held by this one (assigned to its attributes: Bidirectional's RNNs, a custom layer's Dense)."""
        return list(self.__dict__.get("_tracked", []))

    def modules(self):
        """(name, nn.Module) pairs holding this layer's weights, in call order."""
        pairs = [(self.name, self._weights)] if self._weight_order else []
        for sub in self.sublayers():
            pairs += [(f"{self.name}_{n}", m) for n, m in sub.modules() if m is not None]  # built ones
        return pairs

    def _direct_weights(self):
        """This layer's own weights (add_weight's, or its nn modules' when it has neither those nor sublayers)."""
        if self._weight_order or self.sublayers():
            return self._own_weights()
        return [t for _, m in self.modules() for t in (*m.parameters(), *m.buffers())]

    @property
    def weights(self):
        """Every weight (trainable and not) as Tensors, in Keras order: its own, then its sublayers'."""
        return self._direct_weights() + [w for sub in self.sublayers() for w in sub.weights]

    @property
    def trainable_weights(self):
        """The weights training updates: none of a frozen layer (trainable=False, here or in a sublayer)."""
        if not self.trainable:
            return []
        return ([w for w in self._direct_weights() if getattr(w, "requires_grad", False)]
                + [w for sub in self.sublayers() for w in sub.trainable_weights])

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.weights
        return ([w for w in self._direct_weights() if not getattr(w, "requires_grad", False)]
                + [w for sub in self.sublayers() for w in sub.non_trainable_weights])

    def parameters(self):
        return [p for _, m in self.modules() for p in m.parameters()]

    def count_params(self):
        return sum(int(np.prod(w.shape)) for w in self.weights)

    def get_weights(self):
        """The weights as NumPy arrays (copies), in the layer's Keras order and layout."""
        return [w.numpy().copy() for w in self._direct_weights()] + [a for sub in self.sublayers()
                                                                      for a in sub.get_weights()]

    def set_weights(self, weights):
        weights = list(weights)
        direct, subs = self._direct_weights(), self.sublayers()
        total = len(direct) + sum(len(sub.weights) for sub in subs)
        if len(weights) != total:
            raise ShapeError(f"{self.name}: set_weights got {len(weights)} arrays for {total} weights")
        for p, w in zip(direct, weights):
            _set(p, self._to_nn_layout(p, np.asarray(w)), self.name)
        i = len(direct)
        for sub in subs:
            k = len(sub.weights)
            sub.set_weights(weights[i:i + k])
            i += k

    def _to_nn_layout(self, p, w):
        return w

    # --- config ---
    def get_config(self):
        """The constructor arguments (JSON values), as Keras' get_config()."""
        from .activations import activation_name
        from .regularizers import Regularizer, serialize

        config = {"name": self.name, "trainable": self.trainable}
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = serialize(self.activity_regularizer)
        for key in self.config_keys:
            value = getattr(self, key)
            if isinstance(value, Regularizer):
                config[key] = serialize(value)
                continue
            if activation_name(value) is not None:  # keras.activations.relu saves as "relu"
                config[key] = activation_name(value)
                continue
            if callable(value) and not isinstance(value, str):
                raise ArgumentError(f"{self.name}: {key}={value!r} is a Python callable; it cannot be saved "
                                    "(use a name such as 'relu')")
            config[key] = list(value) if isinstance(value, tuple) else value
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # --- building and calling ---
    def build(self, input_shape):
        """Create the weights for inputs of `input_shape` (batch axis first, None)."""
        self.built = True

    def compute_output_shape(self, input_shape):
        """The output shape (batch axis first) for inputs of `input_shape`, found by running the layer once."""
        from .functional import _probe

        _, shapes = _probe(self, [map_structure(KerasTensor, input_shape) if isinstance(input_shape, list)
                                  else KerasTensor(input_shape)], {})
        return shapes[0][0] if len(shapes) == 1 else [s for s, _ in shapes]

    def _build_for(self, args, kwargs):
        """Build from the first call's arguments (a layer with several inputs overrides this)."""
        first = args[0] if args else next(iter(kwargs.values()))
        self.input_shape = map_structure(lambda t: tuple(t.shape[1:]), first)
        self.build(map_structure(lambda t: (None,) + tuple(t.shape[1:]), first))
        self.built = True

    def call(self, inputs, training=None):
        """The computation on Tensors; the default chains modules()."""
        x = inputs
        for _, module in self.modules():
            x = module(x)
        return x

    def compute_mask(self, inputs, mask=None):
        """The mask of the output: passed through when supports_masking, else None."""
        return mask if self.supports_masking else None

    compute_mask.default_rule = True  # the graph skips it when no input has a mask

    def _set_mode(self, training):
        for _, module in self.modules():
            if module is not None and module.training != training:
                module.train(training)

    def __call__(self, *args, **kwargs):
        if any(isinstance(t, KerasTensor) for t in flatten((args, kwargs))):
            from .functional import symbolic_call

            return symbolic_call(self, args, kwargs)
        return self._eager_call(args, kwargs)

    def _eager_call(self, args, kwargs, masks=None):
        """Run call() on Tensors (building first); masks: {call argument: mask} from the graph."""
        if not self.built:
            self._build_for(args, kwargs)
        kwargs = dict(kwargs)
        training = kwargs.pop("training", None)
        if training is None:
            training = current_training()
        training = bool(training)
        self._set_mode(training)
        params = _call_parameters(type(self))
        if "training" in params:
            kwargs["training"] = training
        for key, mask in (masks or {}).items():
            if mask is not None and key in params and kwargs.get(key) is None:
                kwargs[key] = mask
        out = self.call(*args, **kwargs)
        if self.activity_regularizer is not None:
            token = current_forward()  # a new forward pass (or a call outside any model) starts a new list
            if token is None or token is not getattr(self, "_activity_token", None):
                self._activity_losses, self._activity_token = [], token
            for t in flatten(out):
                # Keras 3: the penalty of an output with a batch axis is divided by the batch size
                penalty = self.activity_regularizer(t)
                self._activity_losses.append(penalty / t.shape[0] if t.ndim > 0 and t.shape[0] else penalty)
        if self.output_shape is None:
            self.output_shape = map_structure(lambda t: tuple(t.shape[1:]), out)
        return out

    def masks_for_call(self, args, kwargs, mask_of):
        """{call argument: mask} for a call inside a model: the first input's mask as `mask`."""
        first = args[0] if args else None
        mask = map_structure(mask_of, first) if first is not None else None
        return {"mask": mask} if any(m is not None for m in flatten(mask)) else {}

    masks_for_call.default_rule = True  # the graph's fast path applies

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


def _unique_name(base, taken):
    """base, base_1, base_2 ...: the first not in `taken`."""
    n = 0
    while (base if n == 0 else f"{base}_{n}") in taken:
        n += 1
    return base if n == 0 else f"{base}_{n}"


def snake_case(name):
    """MyLayer -> my_layer (Keras' default names)."""
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


_SIGNATURES = {}


def _call_parameters(cls):
    """The parameter names of cls.call (cached per class)."""
    if cls not in _SIGNATURES:
        _SIGNATURES[cls] = set(inspect.signature(cls.call).parameters)
    return _SIGNATURES[cls]


__all__ = ["KerasFileError", "Layer", "allocation_budget", "reserve"]
