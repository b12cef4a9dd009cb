"""The backward plans of declared ops: for each pattern of inputs needing a gradient, what forward saves and
which vjp gives each input's gradient (declare.py builds a Function class on them)."""

import inspect
import itertools


def _saved_names(vjp):
    return [p for p in inspect.signature(vjp).parameters if p in ("x", "y", "out")]


def _plans(name, vjps, saved_names, arity):
    """For each pattern of inputs needing a gradient: (names saved, per input (vjp, saved positions) or None).

    Only what the vjps of the inputs that need a gradient use is kept (x * 2 keeps no x). A vjp takes
    g, then its saved names (in signature order, passed by position), then the op's params by keyword.
    """
    vjp_names = [_saved_names(v) if v else () for v in vjps]
    for vjp, names in zip(vjps, vjp_names):
        if vjp is not None and list(inspect.signature(vjp).parameters)[1:1 + len(names)] != list(names):
            raise ValueError(f"op {name!r}: a vjp must take g, then its saved names x/y/out, then params")
    plans = {}
    for needs in itertools.product((False, True), repeat=arity):
        names = tuple(n for n in saved_names if any(nd and n in vn for nd, vn in zip(needs, vjp_names)))
        rules = tuple((i, vjp, tuple(names.index(k) for k in vn))
                      for i, (vjp, vn, nd) in enumerate(zip(vjps, vjp_names, needs)) if vjp is not None and nd)
        plans[needs] = (names, rules, arity, _plain_rules(rules, arity))
    return plans


def _plain_rules(rules, arity):
    """The plan's rules for a call without params, as one function of (g, saved) when each vjp takes at most one
    saved value (add, mul, exp, ...): no list to fill, no per-rule branches. None for the others."""
    if not rules or any(len(positions) > 1 for _, _, positions in rules):
        return None
    calls = [None] * arity
    for i, vjp, positions in rules:
        calls[i] = (vjp, positions[0] if positions else None)
    if arity == 1:
        (vjp, k), = calls
        return (lambda g, s: (vjp(g),)) if k is None else lambda g, s: (vjp(g, s[k]),)
    (v0, k0), (v1, k1) = (c if c is not None else (None, None) for c in calls)
    if v0 is not None and v1 is not None:
        if k0 is None and k1 is None:
            return lambda g, s: (v0(g), v1(g))
        if k0 is not None and k1 is not None:
            return lambda g, s: (v0(g, s[k0]), v1(g, s[k1]))
        return None
    vjp, k = (v0, k0) if v0 is not None else (v1, k1)
    if vjp is None:
        return lambda g, s: (None, None)
    one = (lambda g, s: vjp(g)) if k is None else lambda g, s: vjp(g, s[k])
    return (lambda g, s: (one(g, s), None)) if v0 is not None else lambda g, s: (None, one(g, s))


def _apply_rules(plan, g, saved, p):
    """One gradient per input: the vjps of the inputs that need one, None for the others."""
    grads = [None] * plan[2]
    for i, vjp, positions in plan[1]:
        if p:
            grads[i] = vjp(g, *[saved[k] for k in positions], **p)
        elif not positions:
            grads[i] = vjp(g)
        elif len(positions) == 1:  # the common rule: one saved operand (mul's g * y)
            grads[i] = vjp(g, saved[positions[0]])
        else:
            grads[i] = vjp(g, *[saved[k] for k in positions])
    return grads
