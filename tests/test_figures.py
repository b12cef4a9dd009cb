"""One test per figure-producing command, on tiny data: the PNG exists and is of a sensible size, and the
figure's axes have labels and titles (read from matplotlib's objects, not from pixels)."""

import os

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")

import tensorcore as tc  # noqa: E402
from tensorcore.cli import main  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def figures(monkeypatch):
    """Every figure the code under test closes (tensorcore.figures.save closes each after writing it)."""
    import matplotlib.pyplot as plt

    seen, real_close = [], plt.close

    def close(fig=None):
        if fig is not None and not isinstance(fig, str):
            seen.append(fig)
        real_close(fig)

    monkeypatch.setattr(plt, "close", close)
    return seen


@pytest.fixture
def tiny_data(tmp_path, monkeypatch):
    """A Fashion-MNIST-shaped data set of 160 training and 40 test images in $TENSORCORE_DATA."""
    from tensorcore.data.idx import write_idx

    folder = tmp_path / "data" / "fashion-mnist"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", 160), ("t10k", 40)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = (rng.random((n, 28, 28)) * 60 + labels[:, None, None] * 19).astype(np.uint8)  # learnable
        write_idx(folder / f"{split}-images-idx3-ubyte", images)
        write_idx(folder / f"{split}-labels-idx1-ubyte", labels)
    monkeypatch.setenv("TENSORCORE_DATA", str(tmp_path / "data"))
    return folder


def _check_png(path, low=8_000, high=250_000):
    data = path.read_bytes()
    assert data[:8] == PNG, path
    assert low < len(data) < high, (path, len(data))  # a real picture, and a small one


def _labelled(ax):
    return ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


def test_train_plot(tiny_data, tmp_path, figures, capsys):
    png = tmp_path / "curves.png"
    assert main(["train", "--limit", "160", "--epochs", "3", "--batch-size", "32", "--quiet", "--schedule", "step",
                 "--plot", str(png)]) == 0, capsys.readouterr().err
    _check_png(png)
    (fig,) = figures
    axes = fig.get_axes()
    assert len(axes) == 2 and all(_labelled(ax) for ax in axes)
    assert "step schedule" in fig._suptitle.get_text() and "mlp" in fig._suptitle.get_text()
    for ax in axes:
        assert ax.get_xlabel() == "epoch"
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks == [1, 2, 3]  # whole epochs only
        assert len(ax.get_legend().get_texts()) == 2  # train and validation


def _checkpoint(path):
    from tensorcore import models
    from tensorcore.cli import build_parser
    from tensorcore.train import save_checkpoint

    tc.manual_seed(0)
    model = models.lenet5()
    args = build_parser(load="train").parse_args(["train", "--model", "lenet5"])  # every train option's default
    save_checkpoint(str(path), args, model, tc.optim.SGD(model.parameters(), lr=0.1), None, 1, {"train_loss": [1.0]})


@pytest.mark.parametrize("deconv", [False, True])
def test_visualize_picture(tiny_data, tmp_path, figures, capsys, deconv):
    from tensorcore.visualize import FASHION_CLASSES

    ckpt, png = tmp_path / "lenet5.npz", tmp_path / "vis.png"
    _checkpoint(ckpt)
    assert main(["visualize", "--model", str(ckpt), "--image-index", "3", "--out", str(png)]
                + (["--deconv"] if deconv else [])) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert any(f"true {name} (" in out for name in FASHION_CLASSES)  # class names, not bare numbers
    _check_png(png)
    (fig,) = figures
    panels = [ax for ax in fig.get_axes() if ax.get_images()]
    bars = [ax for ax in fig.get_axes() if not ax.get_images()]  # colorbars
    assert len(panels) == (4 if deconv else 3)
    assert all(ax.get_title() and ax.get_xlabel() for ax in panels)
    assert {ax.get_ylabel() for ax in bars} >= {"relative (max 1)", "class activation (max 1)"}
    if deconv:
        assert "receptive field" in panels[3].get_xlabel() and "projection (signed, max 1)" in {
            ax.get_ylabel() for ax in bars}
        assert panels[0].patches  # the receptive field's box on the input
    assert "predicted" in fig._suptitle.get_text() and any(n in fig._suptitle.get_text() for n in FASHION_CLASSES)
    # nothing overlaps: the figure title sits above every panel title
    fig.canvas.draw()
    top = fig._suptitle.get_window_extent().y0
    assert all(ax.title.get_window_extent().y1 <= top + 1 for ax in panels)


def _points_under_roofline(ax):
    """Every scatter point of the roofline panel is at or under the dashed roofline."""
    (roof,) = [line for line in ax.get_lines() if "roofline" in line.get_label()]
    xs, ys = roof.get_data()
    pts = np.concatenate([c.get_offsets() for c in ax.collections if len(c.get_offsets())])
    assert len(pts)
    under = np.interp(np.log(pts[:, 0]), np.log(xs), ys)
    assert (pts[:, 1] <= under * (1 + 1e-6)).all()


def test_bench_kernels_plot(tmp_path, figures, monkeypatch, capsys):
    from tensorcore.bench import ceilings
    from tensorcore.bench.suites import kernels

    monkeypatch.setattr(kernels, "SQUARE_QUICK", (16, 32, 64))
    monkeypatch.setattr(kernels, "MATMUL_SHAPES", ())
    monkeypatch.setattr(kernels, "RELU_SIZES_QUICK", (1000,))
    monkeypatch.setattr(kernels, "CE_SHAPES_QUICK", ((8, 10),))
    monkeypatch.setattr(kernels.Settings, "quick", classmethod(lambda cls: cls(warmup=1, min_runs=2, max_runs=3,
                                                                                min_time=0.0)))
    real = ceilings.cpu_ceilings
    monkeypatch.setattr(ceilings, "cpu_ceilings", lambda **kw: real(gemm_n=128, copy_mib=4, min_time=0.01))
    png = tmp_path / "k.png"
    assert main(["bench", "kernels", "--quick", "--device", "cpu", "--ops", "matmul,relu,softmax_cross_entropy",
                 "--plot", str(png)]) == 0, capsys.readouterr().err
    _check_png(png)
    (fig,) = figures
    ax1, ax2 = fig.get_axes()
    assert _labelled(ax1) and _labelled(ax2) and fig._suptitle.get_text()
    names = [t.get_text() for t in ax1.get_legend().get_texts()]
    assert "tensorcore cpu (NumPy + BLAS)" in names and "numpy" not in names
    peak = max(line.get_ydata()[0] for line in ax1.get_lines() if line.get_linestyle() == ":")
    assert all(max(line.get_ydata()) <= peak * (1 + 1e-9) for line in ax1.get_lines() if line.get_marker() == "o")
    _points_under_roofline(ax2)


def test_bench_kernels_plot_of_an_old_run_keeps_points_under_the_roofline(tmp_path, figures):
    """A run recorded before the roofline was stored (GEMM probe below the best matmul) is drawn right too."""
    from tensorcore.bench import plot, record

    def rec(op, n, gflops, nbytes, backend="numpy"):
        flops = 2.0 * n ** 3 if op == "matmul" else 1e6
        t = record.make_record(op, (n, n, n), "float32", "cpu", backend, flops=flops, nbytes=nbytes, label="square",
                               timing=type("T", (), {"median_s": flops / gflops / 1e9, "min_s": 1e-3, "max_s": 1,
                                                     "runs": 3})())
        return t

    payload = {"ceilings": {"cpu": {"gflops": 100.0, "gbps": 10.0, "gemm": {"what": "probe"}, "copy": {"what": "c"}}},
               "records": [rec("matmul", 64, 50.0, 3 * 4 * 64 ** 2), rec("matmul", 4096, 180.0, 3 * 4 * 4096 ** 2),
                           rec("relu", 100, 2.0, 1e5, backend="torch-cpu")],
               "machine": {"cpu": "test", "cores": 1, "date": "2026-11-28"}}
    plot.plot_kernels(payload, tmp_path / "old.png")
    (fig,) = figures
    _points_under_roofline(fig.get_axes()[1])
    assert "tensorcore cpu (NumPy + BLAS)" in [t.get_text() for t in fig.get_axes()[0].get_legend().get_texts()]


def test_bench_train_plot(tmp_path, figures, capsys):
    png = tmp_path / "t.png"
    rc = main(["bench", "train", "--quick", "--model", "mlp", "--rounds", "1", "--plot", str(png)])
    assert rc == 0, capsys.readouterr().err
    _check_png(png, low=5_000)
    (fig,) = figures
    (ax,) = fig.get_axes()
    assert _labelled(ax)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "tensorcore" in legend and "hand-written NumPy (the floor)" in legend
    assert "mlp" in ax.get_yticklabels()[0].get_text()


def test_bench_overhead_plot(tmp_path, figures, capsys, monkeypatch):
    from tensorcore.bench.suites import overhead

    real = overhead.run_suite
    monkeypatch.setattr(overhead, "run_suite", lambda **kw: real(**{**kw, "ops": ("add", "matmul", "sum")}))
    png = tmp_path / "o.png"
    assert main(["bench", "overhead", "--quick", "--rounds", "1", "--plot", str(png)]) == 0, capsys.readouterr().err
    _check_png(png, low=5_000)
    (fig,) = figures
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == ["forward", "forward+backward"]
    assert axes[0].get_ylabel() and all(ax.get_xlabel() for ax in axes) and fig._suptitle.get_text()
    assert [t.get_text() for t in axes[0].get_xticklabels()] == ["add", "matmul", "sum"]


def test_gallery_draws_every_picture_with_a_sentence(tiny_data, tmp_path, figures, capsys):
    results = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench", "results")
    if not os.path.isdir(results):
        pytest.skip(f"no recorded bench runs at {results}")
    out = tmp_path / "docs"
    assert main(["gallery", str(out), "--results", results, "--limit", "160", "--epochs", "2"]) == 0
    md = (out / "gallery.md").read_text()
    pngs = sorted(p.name for p in (out / "gallery").iterdir())
    assert pngs == ["bench_kernels.png", "bench_overhead.png", "bench_train.png", "train_curves.png",
                    "visualize.png"]
    for name in pngs:
        _check_png(out / "gallery" / name, low=5_000)
        section = md.split(f"(gallery/{name})", 1)[1].split("## ", 1)[0]
        assert "`tensorcore " in section and len(section.split("`")[-1].strip()) > 80  # the command and a sentence
    assert len(figures) == 5
