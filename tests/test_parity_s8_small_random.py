"""torch.random's names (fork_rng, seed, initial_seed, get/set_rng_state) against torch's behaviour."""

import pytest

import tensorcore as tc

torch = pytest.importorskip("torch")


def test_random_module_names_match_torch():
    for name in ("set_rng_state", "get_rng_state", "manual_seed", "seed", "initial_seed", "fork_rng"):
        assert hasattr(torch.random, name)
        assert callable(getattr(tc.random, name)), name
    assert tc.initial_seed is not None and tc.seed is not None


def test_initial_seed_does_not_move_the_stream():
    tc.manual_seed(1234)
    assert tc.initial_seed() == 1234 == tc.random.initial_seed()
    first = tc.rand(4).numpy()
    tc.manual_seed(1234)
    tc.initial_seed()
    tc.random.initial_seed()
    assert (tc.rand(4).numpy() == first).all()


def test_seed_reseeds_and_returns_the_seed_like_torch():
    s = tc.seed()
    t = torch.seed()
    assert isinstance(s, int) and isinstance(t, int)
    assert 0 <= s < 2**64 and tc.initial_seed() == s
    a = tc.rand(3).numpy()
    tc.manual_seed(s)
    assert (tc.rand(3).numpy() == a).all()
    assert tc.random.seed() != s or tc.random.seed() != s  # fresh entropy (two equal 64-bit draws in a row: ~0)


def test_generator_seed_methods_like_torch():
    g = tc.Generator().manual_seed(7)
    tg = torch.Generator().manual_seed(7)
    assert g.initial_seed() == tg.initial_seed() == 7
    s = g.seed()
    assert g.initial_seed() == s and 0 <= s < 2**64
    assert isinstance(tc.Generator().initial_seed(), int)


def test_rng_state_round_trip_restores_stream_and_initial_seed():
    tc.manual_seed(5)
    torch.manual_seed(5)
    state, tstate = tc.get_rng_state(), torch.get_rng_state()
    a = tc.randn(5).numpy()
    tc.manual_seed(7)
    torch.manual_seed(7)
    tc.set_rng_state(state)
    torch.set_rng_state(tstate)
    assert tc.initial_seed() == torch.initial_seed() == 5
    assert (tc.randn(5).numpy() == a).all()
    tc.random.set_rng_state(tc.random.get_rng_state())
    with pytest.raises(tc.TensorcoreError, match="not a state"):
        tc.random.set_rng_state({"junk": 1})


def test_state_without_initial_seed_key_still_loads():
    tc.manual_seed(11)
    state = tc.get_rng_state()
    state.pop("initial_seed")
    a = tc.rand(2).numpy()
    tc.manual_seed(12)
    tc.set_rng_state(state)
    assert (tc.rand(2).numpy() == a).all()


@pytest.mark.parametrize("kwargs", [{}, {"devices": []}, {"device_type": "cpu", "devices": []}])
def test_fork_rng_restores_state_like_torch(kwargs):
    tc.manual_seed(3)
    torch.manual_seed(3)
    with tc.random.fork_rng(**kwargs), torch.random.fork_rng(**kwargs):
        tc.manual_seed(99)
        torch.manual_seed(99)
        tc.rand(10)
        torch.rand(10)
        assert tc.initial_seed() == torch.initial_seed() == 99
    assert tc.initial_seed() == torch.initial_seed() == 3
    a = tc.rand(4).numpy()
    tc.manual_seed(3)
    assert (tc.rand(4).numpy() == a).all()


def test_fork_rng_restores_when_the_block_raises():
    tc.manual_seed(21)
    expected = tc.rand(3).numpy()
    tc.manual_seed(21)
    with pytest.raises(KeyError):
        with tc.random.fork_rng():
            tc.rand(100)
            raise KeyError("x")
    assert (tc.rand(3).numpy() == expected).all()


def test_fork_rng_disabled_forks_nothing_like_torch():
    tc.manual_seed(4)
    torch.manual_seed(4)
    with tc.random.fork_rng(enabled=False), torch.random.fork_rng(enabled=False):
        tc.manual_seed(8)
        torch.manual_seed(8)
    assert tc.initial_seed() == torch.initial_seed() == 8


def test_fork_rng_unknown_device_type_raises():
    with pytest.raises(RuntimeError):
        with torch.random.fork_rng(device_type="nosuchdevice"):
            pass
    with pytest.raises(tc.TensorcoreError):
        with tc.random.fork_rng(device_type="nosuchdevice"):
            pass
