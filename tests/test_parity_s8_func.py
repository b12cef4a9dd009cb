"""torch.func (grad, grad_and_value, vjp, jvp, jacrev, jacfwd, hessian, vmap, functional_call,
stack_module_state) against torch.func on the same inputs: values, gradients through the transforms, nesting,
pytrees, and the errors PyTorch raises (as tc.TensorcoreError)."""

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import func as tcf

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for these checks")
tf = torch.func

_R = np.random.default_rng(8)


def _pair(*shape):
    a = _R.normal(size=shape)
    return tc.tensor(a), torch.tensor(a)


def _close(ours, theirs, tol=1e-10):
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, (tuple, list)) and len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            _close(o, t, tol)
        return
    if isinstance(theirs, dict):
        assert set(ours) == set(theirs)
        for k in theirs:
            _close(ours[k], theirs[k], tol)
        return
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=tol, atol=tol)


def _f(lib):
    return lambda x, w: (lib.sin(x) * w).sum() + (x ** 3).sum()


def test_grad_argnums_and_value():
    (x, xt), (w, wt) = _pair(4), _pair(4)
    _close(tcf.grad(_f(tc))(x, w), tf.grad(_f(torch))(xt, wt))
    _close(tcf.grad(_f(tc), argnums=(0, 1))(x, w), tf.grad(_f(torch), argnums=(0, 1))(xt, wt))
    _close(tcf.grad(_f(tc), argnums=-1)(x, w), tf.grad(_f(torch), argnums=-1)(xt, wt))
    g, v = tcf.grad_and_value(_f(tc))(x, w)
    gt, vt = tf.grad_and_value(_f(torch))(xt, wt)
    _close((g, v), (gt, vt))
    assert not g.requires_grad and not v.requires_grad  # plain tensors outside every transform, as torch's


def test_grad_has_aux_and_pytree_argument():
    (a, at), (b, bt) = _pair(3), _pair(2, 3)

    def f(lib):
        return lambda p, x: ((p["w"] * x).sum() + lib.tanh(p["b"]).sum() ** 2, {"aux": x * 2})

    g, aux = tcf.grad(f(tc), has_aux=True)({"w": a, "b": b}, a)
    gt, auxt = tf.grad(f(torch), has_aux=True)({"w": at, "b": bt}, at)
    _close(g, gt)
    _close(aux, auxt)
    (g2, (v, aux2)) = tcf.grad_and_value(f(tc), has_aux=True)({"w": a, "b": b}, a)
    _close(v, f(torch)({"w": at, "b": bt}, at)[0])


def test_grad_unused_input_gives_zeros():
    (x, xt), (y, yt) = _pair(2), _pair(2)
    _close(tcf.grad(lambda x, y: y.sum(), argnums=(0, 1))(x, y), tf.grad(lambda x, y: y.sum(), argnums=(0, 1))(xt, yt))


def test_nested_grad_and_captured_variable():
    s = tc.tensor(0.7, dtype=tc.float64)
    st = torch.tensor(0.7, dtype=torch.float64)
    _close(tcf.grad(tcf.grad(tcf.grad(lambda x: x.sin() * x)))(s),
           tf.grad(tf.grad(tf.grad(lambda x: x.sin() * x)))(st))

    # the inner grad treats the captured outer x as a constant: d/dx [d/dy (x*y)]_{y=x} = d/dx x = 1
    def outer(lib_grad):
        return lib_grad(lambda x: lib_grad(lambda y: (x * y) ** 2)(x))

    _close(outer(tcf.grad)(s), outer(tf.grad)(st))


def test_grad_result_connects_to_outer_autograd():
    (x, xt) = _pair(3)
    x.requires_grad_(True)
    xt.requires_grad_(True)
    g = tcf.grad(lambda v: (v ** 3).sum())(x)
    gt = tf.grad(lambda v: (v ** 3).sum())(xt)
    assert g.requires_grad and gt.requires_grad
    (g * g).sum().backward()
    (gt * gt).sum().backward()
    _close(x.grad, xt.grad)
    # a closed-over tensor that requires grad keeps its path to backward(), too
    w, wt = (t.detach().requires_grad_(True) for t in _pair(3))
    d, dt = _pair(3)
    tcf.grad(lambda v: (w * v).sum() ** 2)(d).sum().backward()
    tf.grad(lambda v: (wt * v).sum() ** 2)(dt).sum().backward()
    _close(w.grad, wt.grad)


def test_grad_under_no_grad_still_differentiates():
    x, xt = _pair(3)
    with tc.no_grad():
        g = tcf.grad(lambda v: (v ** 2).sum())(x)
    with torch.no_grad():
        gt = tf.grad(lambda v: (v ** 2).sum())(xt)
    _close(g, gt)


def test_vjp_jvp_linearize():
    x, xt = _pair(3, 2)
    v, vt = _pair(3, 2)
    out, fn = tcf.vjp(lambda x: (x.sin(), x * x), x)
    outt, fnt = tf.vjp(lambda x: (x.sin(), x * x), xt)
    _close(out, outt)
    _close(fn((v, v)), fnt((vt, vt)))
    _close(fn((v * 2, v)), fnt((vt * 2, vt)))  # callable again
    _close(tcf.jvp(lambda x: x.exp() * x, (x,), (v,)), tf.jvp(lambda x: x.exp() * x, (xt,), (vt,)))
    w, wt = _pair(2, 3)
    _close(tcf.jvp(lambda a, b: a @ b, (x, w), (v, w)), tf.jvp(lambda a, b: a @ b, (xt, wt), (vt, wt)))
    o, jfn = tcf.linearize(lambda a: a.tanh(), x)
    ot, jfnt = tf.linearize(lambda a: a.tanh(), xt)
    _close((o, jfn(v)), (ot, jfnt(vt)))


def test_jacrev_jacfwd_hessian():
    x, xt = _pair(3)
    w, wt = _pair(2, 3)
    _close(tcf.jacrev(lambda x: x.sin() * x.sum())(x), tf.jacrev(lambda x: x.sin() * x.sum())(xt))
    _close(tcf.jacfwd(lambda x, w: w @ x.exp(), argnums=(0, 1))(x, w),
           tf.jacfwd(lambda x, w: w @ x.exp(), argnums=(0, 1))(xt, wt))
    _close(tcf.jacrev(lambda x: {"a": x * 2, "b": x.sum()})(x), tf.jacrev(lambda x: {"a": x * 2, "b": x.sum()})(xt))
    _close(tcf.hessian(lambda x: (x.sin() * x ** 2).sum())(x), tf.hessian(lambda x: (x.sin() * x ** 2).sum())(xt))
    _close(tcf.jacrev(tcf.jacrev(lambda x: x ** 3))(x), tf.jacrev(tf.jacrev(lambda x: x ** 3))(xt))
    j, aux = tcf.jacrev(lambda x: (x * 2, x.sum()), has_aux=True)(x)
    _close(aux, xt.sum())


def test_vmap_in_dims_out_dims_and_nesting():
    a, at = _pair(5, 3)
    b, bt = _pair(3, 5)
    c, ct = _pair(3)
    _close(tcf.vmap(tc.dot)(a, a), tf.vmap(torch.dot)(at, at))
    _close(tcf.vmap(lambda x, y, z: x * y + z, in_dims=(0, 1, None))(a, b, c),
           tf.vmap(lambda x, y, z: x * y + z, in_dims=(0, 1, None))(at, bt, ct))
    _close(tcf.vmap(lambda x: x.outer(x), out_dims=2)(a), tf.vmap(lambda x: torch.outer(x, x), out_dims=2)(at))
    _close(tcf.vmap(tcf.vmap(lambda x, y: x * y), in_dims=(0, None))(a, c),
           tf.vmap(tf.vmap(lambda x, y: x * y), in_dims=(0, None))(at, ct))
    _close(tcf.vmap(tcf.vmap(lambda x: x.sum()), in_dims=1)(a), tf.vmap(tf.vmap(lambda x: x.sum()), in_dims=1)(at))
    out = tcf.vmap(lambda x: (x * 2, x.sum()), out_dims=(1, 0))(a)
    _close(out, tf.vmap(lambda x: (x * 2, x.sum()), out_dims=(1, 0))(at))
    _close(tcf.vmap(lambda x: x, in_dims=-1)(a), tf.vmap(lambda x: x, in_dims=-1)(at))
    assert tc.vmap is tcf.vmap


def test_vmap_pytrees_and_unbatched_outputs():
    a, at = _pair(4, 2)
    c, ct = _pair(2)

    def f(d, pair):
        return {"s": d["x"] * pair[0] + pair[1], "k": [d["x"].sum()]}

    ours = tcf.vmap(f, in_dims=({"x": 0}, (None, None)))({"x": a}, (c, c))
    theirs = tf.vmap(f, in_dims=({"x": 0}, (None, None)))({"x": at}, (ct, ct))
    _close(ours, theirs)
    out = tcf.vmap(lambda x, y: (x * 2, y), in_dims=(0, None), out_dims=(0, None))(a, c)
    outt = tf.vmap(lambda x, y: (x * 2, y), in_dims=(0, None), out_dims=(0, None))(at, ct)
    _close(out, outt)
    assert tcf.vmap(lambda x: (x, 3.0), out_dims=(0, None))(a)[1] == 3.0


def test_per_sample_gradients_through_functional_call():
    tc.manual_seed(0)
    torch.manual_seed(0)
    model = tc.nn.Linear(3, 2).double()
    ref = torch.nn.Linear(3, 2).double()
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(model.weight.numpy()))
        ref.bias.copy_(torch.tensor(model.bias.numpy()))
    x, xt = _pair(6, 3)
    y, yt = _pair(6, 2)

    def loss(lib, fc, m):
        return lambda p, xi, yi: ((fc(m, p, (xi.unsqueeze(0),)) - yi.unsqueeze(0)) ** 2).sum()

    params = {k: v.detach() for k, v in model.named_parameters()}
    params_t = {k: v.detach() for k, v in ref.named_parameters()}
    ours = tcf.vmap(tcf.grad(loss(tc, tcf.functional_call, model)), in_dims=(None, 0, 0))(params, x, y)
    theirs = tf.vmap(tf.grad(loss(torch, tf.functional_call, ref)), in_dims=(None, 0, 0))(params_t, xt, yt)
    _close(ours, theirs)
    # the module is left with its own parameters
    assert model.weight is dict(model.named_parameters())["weight"] and isinstance(model.weight, tc.nn.Parameter)


def test_grad_through_vmap_matches_torch_backward():
    a, at = (t.requires_grad_(True) for t in _pair(4, 3))
    tcf.vmap(lambda r: (r.sin() * r).sum())(a).pow(2).sum().backward()
    tf.vmap(lambda r: (r.sin() * r).sum())(at).pow(2).sum().backward()
    _close(a.grad, at.grad)


def test_vmap_gradcheck():
    x = tc.randn(3, 4, dtype=tc.float64, requires_grad=True)
    assert tc.gradcheck(lambda t: tcf.vmap(lambda r: r.softmax(0) * r)(t), (x,))
    s = tc.randn(3, dtype=tc.float64, requires_grad=True)
    assert tc.gradcheck(lambda t: tcf.grad(lambda u: (u.sin() * u).sum())(t), (s,))


def test_vmap_randomness():
    x = tc.ones(4, 3)
    with pytest.raises(tc.TensorcoreError, match="randomness error mode"):
        tcf.vmap(lambda r: r * tc.rand(3))(x)
    with pytest.raises(tc.TensorcoreError, match="randomness error mode"):
        tcf.vmap(lambda r: tc.nn.functional.dropout(r, 0.5, training=True))(x)
    assert tc.rand(2).shape == (2,)  # the default generator is back after the error
    tc.manual_seed(1)
    same = tcf.vmap(lambda r: r * tc.rand(3), randomness="same")(x)
    assert np.array_equal(same.numpy()[0], same.numpy()[3])
    tc.manual_seed(1)
    one = tc.rand(3)
    np.testing.assert_array_equal(same.numpy()[0], one.numpy())
    diff = tcf.vmap(lambda r: r * tc.rand(3), randomness="different")(x)
    assert not np.array_equal(diff.numpy()[0], diff.numpy()[1])
    with pytest.raises(tc.TensorcoreError):
        tcf.vmap(lambda r: r, randomness="sometimes")


@pytest.mark.parametrize("call", [
    lambda x: tcf.vmap(lambda r: 1.0)(x),
    lambda x: tcf.vmap(lambda r: r, in_dims=(0, 0))(x),
    lambda x: tcf.vmap(lambda r, s: r, in_dims=[0, 0])(x, x),
    lambda x: tcf.vmap(lambda r, s: r)(x, tc.ones(5)),
    lambda x: tcf.vmap(lambda r: r, in_dims=None)(x),
    lambda x: tcf.vmap(lambda r: r, in_dims=2)(x),
    lambda x: tcf.vmap(lambda r: r.sum(), out_dims=None)(x),
    lambda x: tcf.vmap(lambda r, n: r * n, in_dims=(0, 0))(x, 3),
    lambda x: tcf.vmap(lambda r: r, chunk_size=0)(x),
    lambda x: tcf.grad(lambda r: r)(x),
    lambda x: tcf.grad(lambda r: r.sum(), argnums=2)(x),
    lambda x: tcf.grad(lambda r: r.sum(), has_aux=True)(x),
    lambda x: tcf.grad(lambda r: r.sum())(tc.ones(3, dtype=tc.int64)),
    lambda x: tcf.jvp(lambda r: r.sin(), x, tc.ones(3)),
    lambda x: tcf.jvp(lambda r: r.sin(), (x,), (tc.ones(4),)),
])
def test_errors_as_torch_raises_them(call):
    x = tc.tensor([1.0, 2.0, 3.0])
    with pytest.raises(tc.TensorcoreError):
        call(x)


def test_errors_match_torch_raising():
    xt = torch.ones(3)
    for call in (lambda: tf.vmap(lambda r: 1.0)(xt), lambda: tf.vmap(lambda r: r, in_dims=2)(xt),
                 lambda: tf.grad(lambda r: r)(xt), lambda: tf.vmap(lambda r: r.sum(), out_dims=None)(xt)):
        with pytest.raises((RuntimeError, ValueError)):
            call()


class _Tied(tc.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = tc.nn.Linear(2, 2, bias=False)
        self.b = tc.nn.Linear(2, 2, bias=False)
        self.b.weight = self.a.weight
        self.register_buffer("scale", tc.ones(2))

    def forward(self, x):
        return self.b(self.a(x)) * self.scale


class _TiedT(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(2, 2, bias=False)
        self.b = torch.nn.Linear(2, 2, bias=False)
        self.b.weight = self.a.weight
        self.register_buffer("scale", torch.ones(2))

    def forward(self, x):
        return self.b(self.a(x)) * self.scale


def test_functional_call_tie_weights_buffers_strict_and_restore():
    m, mt = _Tied().double(), _TiedT().double()
    w, wt = _pair(2, 2)
    s, st = _pair(2)
    x, xt = _pair(3, 2)
    _close(tcf.functional_call(m, {"a.weight": w}, (x,)), tf.functional_call(mt, {"a.weight": wt}, (xt,)))
    _close(tcf.functional_call(m, ({"a.weight": w}, {"scale": s}), x),
           tf.functional_call(mt, ({"a.weight": wt}, {"scale": st}), xt))
    original = m.a.weight.numpy().copy()
    _close(tcf.functional_call(m, {"a.weight": w}, (x,), tie_weights=False),
           tf.functional_call(mt_same(mt, original), {"a.weight": wt}, (xt,), tie_weights=False))
    assert m.b.weight is m.a.weight and np.array_equal(m.a.weight.numpy(), original)
    with pytest.raises(tc.TensorcoreError):
        tcf.functional_call(m, {"a.weight": w, "b.weight": w * 2}, (x,))
    with pytest.raises(tc.TensorcoreError):
        tcf.functional_call(m, {"a.weight": w}, (x,), strict=True)
    with pytest.raises(tc.TensorcoreError):
        tcf.functional_call(m, ({"a.weight": w}, {"a.weight": w}), (x,))
    with pytest.raises(RuntimeError):
        tf.functional_call(mt, {"a.weight": wt}, (xt,), strict=True)
    kw = tcf.functional_call(m, {"scale": s}, args=(), kwargs={"x": x})
    _close(kw, tf.functional_call(mt, {"scale": st}, args=(), kwargs={"x": xt}))


def mt_same(mt, weight):
    """torch's twin holding the same tied weight as ours."""
    with torch.no_grad():
        mt.a.weight.copy_(torch.tensor(weight))
    return mt


def test_functional_call_gradients_and_nn_utils_alias():
    m = tc.nn.Linear(3, 1).double()
    p = {k: v.detach().clone().requires_grad_(True) for k, v in m.named_parameters()}
    x = tc.randn(4, 3, dtype=tc.float64)
    tc.nn.utils.stateless.functional_call(m, p, (x,)).sum().backward()
    np.testing.assert_allclose(p["weight"].grad.numpy(), x.numpy().sum(0, keepdims=True))
    assert m.weight.grad is None


def test_stack_module_state_ensemble_vmap():
    tc.manual_seed(3)
    models = [tc.nn.Linear(3, 2).double() for _ in range(4)]
    refs = [torch.nn.Linear(3, 2).double() for _ in range(4)]
    for m, r in zip(models, refs):
        with torch.no_grad():
            r.weight.copy_(torch.tensor(m.weight.numpy()))
            r.bias.copy_(torch.tensor(m.bias.numpy()))
    params, buffers = tcf.stack_module_state(models)
    params_t, buffers_t = tf.stack_module_state(refs)
    _close(params, params_t)
    assert params["weight"].requires_grad and params["weight"].is_leaf and buffers == {}
    x, xt = _pair(5, 3)

    def run(fc, base):
        return lambda p, b, x: fc(base, (p, b), (x,))

    ours = tcf.vmap(run(tcf.functional_call, models[0]), in_dims=(0, 0, None))(params, buffers, x)
    theirs = tf.vmap(run(tf.functional_call, refs[0]), in_dims=(0, 0, None))(params_t, buffers_t, xt)
    _close(ours, theirs)
    with pytest.raises(tc.TensorcoreError):
        tcf.stack_module_state([])
    with pytest.raises(tc.TensorcoreError):
        tcf.stack_module_state([tc.nn.Linear(3, 2), tc.nn.Linear(3, 2).eval()])


def test_more_structures_against_torch():
    x, xt = _pair(3)
    w, wt = _pair(3)

    def f(lib):
        return lambda a, b: (a.sin() * b, (a * b).sum())

    _close(tcf.jacrev(f(tc), argnums=(0, 1))(x, w), tf.jacrev(f(torch), argnums=(0, 1))(xt, wt))
    _close(tcf.hessian(lambda a, b: (a * a * b).sum(), argnums=(0, 1))(x, w),
           tf.hessian(lambda a, b: (a * a * b).sum(), argnums=(0, 1))(xt, wt))
    out, fn, aux = tcf.vjp(lambda a: (a.exp(), a * 3), x, has_aux=True)
    outt, fnt, auxt = tf.vjp(lambda a: (a.exp(), a * 3), xt, has_aux=True)
    _close((out, fn(w), aux), (outt, fnt(wt), auxt))
    _close(tcf.jvp(lambda a: (a.cos(), a.sum()), (x,), (w,), has_aux=True),
           tf.jvp(lambda a: (a.cos(), a.sum()), (xt,), (wt,), has_aux=True))
    _close(tcf.vmap(lambda a, *, scale: a * scale)(x, scale=w.sum()),
           tf.vmap(lambda a, *, scale: a * scale)(xt, scale=wt.sum()))
    _close(tcf.vmap(lambda a: a.sum(), chunk_size=2)(tc.ones(5, 2)), tf.vmap(lambda a: a.sum(), chunk_size=2)(
        torch.ones(5, 2)))
    _close(tcf.grad(lambda p: (p[0] * p[1]).sum())([x, w]), tf.grad(lambda p: (p[0] * p[1]).sum())([xt, wt]))


def test_gradcheck_through_jacrev_and_jvp():
    x = tc.randn(3, dtype=tc.float64, requires_grad=True)
    v = tc.randn(3, dtype=tc.float64)
    assert tc.gradcheck(lambda t: tcf.jacrev(lambda u: u.sin() * u.sum())(t), (x,))
    assert tc.gradcheck(lambda t: tcf.jvp(lambda u: u.exp() * u, (t,), (v,))[1], (x,))
    assert tc.gradcheck(lambda t: tcf.vjp(lambda u: u.tanh(), t)[1](v)[0], (x,))


def test_vmap_error_randomness_is_per_thread():
    import threading

    drawn, started, release = [], threading.Event(), threading.Event()

    def inside(r):
        started.set()
        release.wait(10)
        return r * 2

    worker = threading.Thread(target=lambda: drawn.append(tcf.vmap(inside)(tc.ones(1, 2))))
    worker.start()
    started.wait(10)
    other = tc.rand(3)  # this thread is not inside the vmap: it draws as usual
    release.set()
    worker.join()
    assert other.shape == (3,) and drawn[0].shape == (1, 2)
    assert not isinstance(tc.random.default_generator.np, tcf._vmap._NoRandomness)
