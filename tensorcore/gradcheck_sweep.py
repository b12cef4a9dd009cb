"""`tensorcore gradcheck`: run gradcheck and gradgradcheck over every registered op's cases and print
a table of the worst absolute errors between analytic and numeric gradients."""

import time

import numpy as np


def add_arguments(parser):
    parser.add_argument("--ops", default="", help="comma-separated op names (default: all registered ops)")
    parser.add_argument("--device", default="cpu", help="device to run on (cpu, cuda)")
    parser.add_argument("--no-gradgrad", action="store_true", help="skip the second-derivative checks")


def _max_error(case, tensors, second):
    """Largest |analytic - numeric| over the Jacobian (of the first derivative, if `second`)."""
    import tensorcore as tc
    from tensorcore.gradcheck import _analytic_jacobian, _as_tuple, _numeric_jacobian

    fn, inputs = case.fn, list(tensors)
    if second:
        inputs_v = [tc.tensor(np.random.default_rng(1).standard_normal(o.shape), dtype=o.dtype,
                              device=o.device, requires_grad=True)
                    for o in _as_tuple(case.fn(*tensors))]

        n = len(tensors)

        def fn(*args):
            xs, vs = args[:n], args[n:]
            outs = _as_tuple(case.fn(*xs))
            return tuple(g if g is not None else x * 0.0 for g, x in
                         zip(tc.grad(list(outs), list(xs), list(vs), create_graph=True, allow_unused=True), xs))

        inputs = inputs + inputs_v
    host = [np.array(t.numpy()) for t in inputs]
    diff = [i for i, t in enumerate(inputs) if t.requires_grad]
    numeric = _numeric_jacobian(fn, inputs, host, diff, 1e-6)
    analytic = _analytic_jacobian(fn, inputs, host, diff)
    return max((float(np.abs(a - n).max()) if a.size else 0.0) for a, n in zip(analytic, numeric))


def run(args):
    from tensorcore.errors import ArgumentError
    from tensorcore.testing.cases import all_cases

    wanted = {name.strip() for name in args.ops.split(",") if name.strip()}
    known = sorted({c.op for c in all_cases()})
    unknown = sorted(wanted - set(known))
    if unknown:
        raise ArgumentError(f"--ops: unknown op name(s) {', '.join(unknown)}; known: {', '.join(known)}")
    cases = [c for c in all_cases() if not wanted or c.op in wanted]
    print(f"{'op case':44s} {'max |err| grad':>15s} {'max |err| gradgrad':>19s} {'status':>7s}")
    failures = 0
    start = time.perf_counter()
    for case in cases:
        import tensorcore as tc

        rng = np.random.default_rng(0)
        tensors = [tc.tensor(a, dtype=tc.float64, device=args.device, requires_grad=True) for a in case.make(rng)]
        try:
            e1 = _max_error(case, tensors, second=False)
            e2 = _max_error(case, tensors, second=True) if case.gradgrad and not args.no_gradgrad else None
            ok = e1 <= case.atol * 10 and (e2 is None or e2 <= case.atol * 10)
            ok = ok and tc.gradcheck(case.fn, tensors, atol=case.atol, rtol=case.rtol, raise_exception=False)
        except Exception as exc:  # a crash is a failure of that op, reported in the table
            e1, e2, ok = float("nan"), None, False
            print(f"  {case.name}: {type(exc).__name__}: {exc}")
        failures += not ok
        second = "-" if e2 is None else f"{e2:.2e}"
        print(f"{case.name:44s} {e1:15.2e} {second:>19s} {'ok' if ok else 'FAIL':>7s}")
    print(f"{len(cases)} cases, {failures} failed, {time.perf_counter() - start:.1f} s")
    return 1 if failures else 0
