"""The functional graph: layers called on KerasTensors record Nodes; a Graph runs them on Tensors.

    inputs = keras.Input(shape=(8,))
    h = Dense(16, activation="relu")(inputs)         # a KerasTensor; its node remembers (Dense, inputs)
    outputs = Dense(3, activation="softmax")(h)
    graph = Graph(inputs, outputs)                    # nodes in topological order
    graph.run([x_tensor], training=False)             # the outputs as Tensors

Output shapes of a symbolic call come from running the layer once on a zero batch of 2 rows
(and once more with size 3 on every unknown axis, which then stays None): no layer needs a
hand-written compute_output_shape. Keras masks (Embedding(mask_zero=True)) travel beside the
values at run time: each layer gets its inputs' masks (`masks_for_call`) and says its outputs'
(`compute_mask`).
"""

import numpy as np

from ..autograd import no_grad
from ..errors import ArgumentError, ShapeError
from .base import probe_allowed
from .symbolic import KerasTensor, Node, flatten, map_structure, training_mode


def _zeros(shape, dtype):
    from ..creation import zeros

    return zeros(*shape, dtype=dtype)


def _probe(layer, args, kwargs):
    """[(shape, dtype) of each output leaf] and the output structure, from calls on zero batches."""
    leaves = [t for t in flatten((args, kwargs)) if isinstance(t, KerasTensor)]
    unknown = any(d is None for t in leaves for d in t.shape[1:])
    runs = []
    for size in (2, 3) if unknown else (2,):
        def concrete(t, size=size):
            if not isinstance(t, KerasTensor):
                return t
            shape = tuple(size if d is None else d for d in t.shape)
            probe_allowed(int(np.prod(shape, dtype=np.float64)) * t.dtype.itemsize, layer.name or type(layer).__name__)
            return _zeros(shape, t.dtype)

        a, k = map_structure(concrete, (list(args), dict(kwargs)))
        with no_grad(), training_mode(False):
            out = layer._eager_call(a, k)
        runs.append(out)
    structure = runs[0]
    shapes = []
    for leaves_out in zip(*(flatten(r) for r in runs)):
        dims = [None] + [a if all(o.shape[i] == a for o in leaves_out) else None
                         for i, a in enumerate(leaves_out[0].shape) if i > 0]
        shapes.append((tuple(dims), leaves_out[0].dtype))
    return structure, shapes


def symbolic_call(layer, args, kwargs):
    """Call `layer` on KerasTensors: record a Node and return KerasTensors shaped like the real outputs."""
    structure, shapes = _probe(layer, args, kwargs)
    node = Node(layer, list(args), dict(kwargs), [])
    counter = iter(range(len(shapes)))

    def symbolic(_out):
        i = next(counter)
        t = KerasTensor(shapes[i][0], shapes[i][1], node=node, index=i)
        node.outputs.append(t)
        return t

    outputs = map_structure(symbolic, structure)
    first = node.inputs[0].shape[1:] if node.inputs else None
    if layer.input_shape is None and first is not None:
        layer.input_shape = first
    layer.output_shape = node.outputs[0].shape[1:] if len(node.outputs) == 1 else \
        [t.shape[1:] for t in node.outputs]
    return outputs


class Graph:
    """The nodes between `inputs` and `outputs` (nested lists/dicts of KerasTensors), in call order."""

    def __init__(self, inputs, outputs):
        self.inputs, self.outputs = inputs, outputs
        self.input_list = flatten(inputs)
        self.output_list = flatten(outputs)
        for t in self.input_list + self.output_list:
            if not isinstance(t, KerasTensor):
                raise ArgumentError(f"Model: inputs and outputs must be KerasTensors (from keras.Input and "
                                    f"layer calls), got {type(t).__name__}")
        for t in self.input_list:
            if t.node is None or not getattr(t.node.layer, "is_input", False):
                raise ArgumentError(f"Model: input {t} does not come from keras.Input")
        self.nodes = self._order()

    def _order(self):
        """Nodes in topological order (iterative depth-first search from the outputs)."""
        inputs = {id(t) for t in self.input_list}
        order, state = [], {}
        stack = [(t.node, False) for t in reversed(self.output_list)]
        while stack:
            node, done = stack.pop()
            if done:
                state[id(node)] = 2
                order.append(node)
                continue
            if state.get(id(node)):
                continue
            if getattr(node.layer, "is_input", False):
                if id(node.outputs[0]) not in inputs:
                    raise ArgumentError(f"Model: the graph needs input {node.outputs[0]} ({node.layer.name}), "
                                        "which is not among the model's inputs (graph disconnected)")
                state[id(node)] = 2
                continue
            state[id(node)] = 1
            stack.append((node, True))
            for t in reversed(node.inputs):
                if state.get(id(t.node)) != 2:
                    stack.append((t.node, False))
        return order

    @property
    def layers(self):
        """Every layer once, inputs first, in call order."""
        seen, out = set(), []
        for t in self.input_list:
            out.append(t.node.layer)
            seen.add(id(t.node.layer))
        for node in self.nodes:
            if id(node.layer) not in seen:
                seen.add(id(node.layer))
                out.append(node.layer)
        return out

    def run(self, values, training=False, logits=False):
        """The outputs (same nesting as `outputs`) for `values`, one Tensor per input in input order.

        logits=True calls the one output layer without its final softmax/sigmoid (the fused loss)."""
        if len(values) != len(self.input_list):
            raise ShapeError(f"the model has {len(self.input_list)} inputs, got {len(values)} arrays")
        env = {}
        for t, v in zip(self.input_list, values):
            if tuple(v.shape[1:]) != tuple(d if d is not None else v.shape[i + 1] for i, d in enumerate(t.shape[1:])):
                raise ShapeError(f"input {t.name!r}: expected shape {t.shape}, got {tuple(v.shape)}")
            env[id(t)] = (v, None)
        last = self.output_list[0].node if logits else None
        with training_mode(training):
            for node in self.nodes:
                layer = node.layer
                if node.simple:  # one KerasTensor argument and the default mask rules: the common case, fast
                    value, mask = env[id(node.args[0])]
                    args, kwargs, masks = [value], {}, ({"mask": mask} if mask is not None else {})
                else:
                    args, kwargs = map_structure(lambda t: env[id(t)][0] if isinstance(t, KerasTensor) else t,
                                                 (node.args, node.kwargs))
                    masks = layer.masks_for_call(
                        node.args, node.kwargs, lambda t: env[id(t)][1] if isinstance(t, KerasTensor) else None)
                if node is last:
                    kwargs["_logits"] = True
                out = layer._eager_call(args, kwargs, masks)
                single = len(node.outputs) == 1 and not isinstance(out, (list, tuple, dict))
                flat_out = [out] if single else flatten(out)
                if len(flat_out) != len(node.outputs):
                    raise ShapeError(f"{layer.name}: returned {len(flat_out)} outputs, {len(node.outputs)} "
                                     "when the model was built")
                if not masks and node.default_mask:
                    flat_mask = [None] * len(flat_out)
                else:
                    out_mask = layer.compute_mask(args[0] if args else None, masks.get("mask"))
                    flat_mask = flatten(out_mask) if isinstance(out_mask, (list, tuple)) else [out_mask]
                    if len(flat_mask) != len(flat_out):
                        flat_mask = [flat_mask[0]] + [None] * (len(flat_out) - 1)
                for t, v, m in zip(node.outputs, flat_out, flat_mask):
                    env[id(t)] = (v, m)
        if isinstance(self.outputs, KerasTensor):
            return env[id(self.outputs)][0]
        return map_structure(lambda t: env[id(t)][0], self.outputs)


__all__ = ["Graph", "symbolic_call"]
