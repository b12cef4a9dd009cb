"""`tensorcore gallery DIR` (or `python -m tensorcore.gallery DIR`): every picture tensorcore draws, in DIR.

    tensorcore gallery docs/            # docs/gallery.md and docs/gallery/*.png

It trains a small LeNet-5 on Fashion-MNIST (`tensorcore train --plot`), draws saliency, Grad-CAM and
the deconvnet projection of a test image with it (`tensorcore visualize --deconv`), and draws the
three bench figures (`tensorcore bench kernels|train|overhead --plot`) from the newest runs recorded
in bench/results/ (with --run-bench, from fresh --quick runs instead). gallery.md shows each PNG
with the command that makes it and a sentence on what the reader should see.
"""

import glob
import json
import os
import shlex
import sys
import tempfile
import time

RESULTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench", "results")


def add_arguments(parser):
    parser.add_argument("out", metavar="DIR", help="where gallery.md and the gallery/ folder of PNGs go")
    parser.add_argument("--results", metavar="DIR", default=RESULTS,
                        help="recorded bench runs (<tag>-kernels.json, -train.json, -overhead.json) to draw")
    parser.add_argument("--run-bench", action="store_true",
                        help="run the three bench suites with --quick instead of drawing recorded runs (minutes)")
    parser.add_argument("--limit", type=int, default=12000, help="training samples for the LeNet-5 run")
    parser.add_argument("--epochs", type=int, default=4, help="epochs of the LeNet-5 run")
    parser.add_argument("--image-index", type=int, default=0, help="the test image to visualize")


def newest_run(folder, suite):
    """The path of the newest recorded run of `suite` in `folder` (by the date inside it), or None."""
    best = None
    for path in glob.glob(os.path.join(folder, f"*-{suite}*.json")):
        try:
            with open(path) as f:
                payload = json.load(f)
        except (OSError, ValueError):
            continue
        if payload.get("suite") == suite and (best is None or payload["machine"]["date"] > best[0]):
            best = (payload["machine"]["date"], path)
    return best[1] if best else None


def _cli(argv):
    from .cli import main

    print(f"$ tensorcore {shlex.join(argv)}", flush=True)
    rc = main(argv)
    if rc:
        raise SystemExit(rc)


def _train_and_visualize(pngs, args, scratch):
    ckpt = os.path.join(scratch, "lenet5.npz")
    train = ["train", "--model", "lenet5", "--epochs", str(args.epochs), "--limit", str(args.limit),
             "--batch-size", "64", "--optimizer", "adam", "--lr", "0.002", "--schedule", "cosine", "--quiet",
             "--save", ckpt, "--plot", os.path.join(pngs, "train_curves.png")]
    _cli(train)
    shown = ["train", *train[1:train.index("--save")], "--plot", "curves.png"]
    vis = ["visualize", "--model", ckpt, "--image-index", str(args.image_index), "--deconv"]
    _cli([*vis, "--out", os.path.join(pngs, "visualize.png")])
    return [
        ("train_curves.png", "tensorcore " + shlex.join(shown),
         "Loss (left) and accuracy (right) of each epoch, training and validation, at whole-number epochs; the "
         "title names the model, the data, the optimizer and the learning-rate schedule. The loss falls and the "
         "accuracy rises from epoch to epoch, and the validation curve stays close to the training one: the "
         "small network is not yet overfitting."),
        ("visualize.png", "tensorcore " + shlex.join([*vis[:2], "lenet5.npz", *vis[3:], "--out", "vis.png"]),
         "One test image, what the LeNet-5 above predicted and the true class (by name). Saliency: the pixels "
         "whose change moves the predicted class's score most, on a colorbar scaled to the largest. Grad-CAM: "
         "where the last convolutional layer found evidence for that class, over the image. Deconvnet: the "
         "strongest activation of the last convolutional layer projected back to pixels and cropped to its "
         "receptive field (the orange box on the input); red pixels raise that activation, blue ones lower it."),
    ]


def _bench(pngs, args, scratch):
    from .bench import plot
    from .bench.record import read_json

    entries = []
    texts = {
        "kernels": "Left: square float32 matmul GFLOP/s against n for tensorcore's CPU backend (NumPy + BLAS) "
                   "and PyTorch; the dotted line is the best rate measured in the run, so no curve crosses it. "
                   "Right: every timed op at its arithmetic intensity under the roofline drawn from the best "
                   "measured rate and bandwidth: no point lies above the dashed line. Memory-bound ops (relu, "
                   "pooling, the loss) sit at low intensity under the sloped part; large matmuls and "
                   "convolutions reach toward the flat top.",
        "train": "Median training-step time of each workload relative to PyTorch (1 = as fast, shorter is "
                 "faster), with the absolute times at the bars' ends; the red marks are tensorcore's goals. For "
                 "the MLP the hand-written NumPy step is the floor a NumPy engine cannot beat.",
        "overhead": "The time of one small op in tensorcore over PyTorch eager's on 1-element and 32x64 float32 "
                    "tensors: above 1 tensorcore is slower. The legend gives each size's geometric mean; the "
                    "right panel (forward and backward) is where the tape's cost shows.",
    }
    for suite in ("kernels", "train", "overhead"):
        png = os.path.join(pngs, f"bench_{suite}.png")
        if args.run_bench:
            path = os.path.join(scratch, f"{suite}.json")
            extra = ["--device", "cpu"] if suite == "kernels" else []
            _cli(["bench", suite, "--quick", "--threads", "1", *extra, "--json", path])
            source = "a fresh --quick run"
        else:
            path = newest_run(args.results, suite)
            if path is None:
                print(f"tensorcore gallery: no recorded {suite} run in {args.results}; skipped (or use --run-bench)",
                      file=sys.stderr)
                continue
            source = f"the run recorded in bench/results/{os.path.basename(path)}"
        payload = read_json(path)
        getattr(plot, f"plot_{suite}")(payload, png)
        entries.append((f"bench_{suite}.png", _plot_command(payload, suite), texts[suite] + f" Drawn from {source}."))
    return entries


def _plot_command(payload, suite):
    """The recorded run's command with its output files replaced by `--plot <suite>.png`."""
    try:
        argv = shlex.split(payload["machine"]["command"])
    except (KeyError, ValueError):
        argv = ["tensorcore", "bench", suite]
    kept, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in ("--json", "--md", "--plot"):
            skip = True
        elif not a.startswith(("--json=", "--md=", "--plot=")):
            kept.append(a)
    return shlex.join([*kept, "--plot", f"{suite}.png"])


def run(args):
    out = args.out
    pngs = os.path.join(out, "gallery")
    os.makedirs(pngs, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        entries = _train_and_visualize(pngs, args, scratch) + _bench(pngs, args, scratch)
    lines = ["# Gallery: every picture tensorcore draws", "",
             f"Regenerated by `tensorcore gallery {os.path.basename(os.path.normpath(out)) or out}` "
             f"(or `python -m tensorcore.gallery DIR`) on {time.strftime('%Y-%m-%d')}. Under each picture: the "
             "command that draws it, and what to see in it.", ""]
    for name, command, text in entries:
        title = name[:-4].replace("_", " ")
        lines += [f"## {title}", "", f"![{title}](gallery/{name})", "", f"`{command}`", "", text, ""]
    from .serialization import atomic_write

    with atomic_write(os.path.join(out, "gallery.md")) as f:
        f.write("\n".join(lines).encode())
    print(f"wrote {os.path.join(out, 'gallery.md')} and {len(entries)} pictures in {pngs}")
    return 0


def main(argv=None):
    """`python -m tensorcore.gallery DIR` is `tensorcore gallery DIR`."""
    from .cli import main as cli_main

    return cli_main(["gallery", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
