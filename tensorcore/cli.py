"""The command line: `tensorcore train | generate | bench | gradcheck | visualize | info | gallery`
(also `python -m tensorcore`).

Each subcommand lives in its own module exposing `add_arguments(parser)` and `run(args) -> int`;
this file only wires them up and turns tensorcore errors into one clear line and a non-zero exit.
"""

import argparse
import importlib
import os
import sys

# name -> (module, one-line help). Modules are imported only when their command runs.
COMMANDS = {
    "train": ("tensorcore.train",
              "train a model (mlp, lenet5, alexnet, zfnet) on Fashion-MNIST, or gpt|char_lstm on fortunes"),
    "generate": ("tensorcore.text_train", "sample text from a language-model checkpoint (train --model gpt|char_lstm)"),
    "bench": ("tensorcore.bench.cli", "benchmark kernels, training steps and per-op overhead"),
    "gradcheck": ("tensorcore.gradcheck_sweep", "check every registered op's gradients"),
    "visualize": ("tensorcore.visualize", "saliency, CAM and deconvnet pictures of a trained model"),
    "info": ("tensorcore.info", "versions, devices and backends"),
    "gallery": ("tensorcore.gallery", "draw every picture tensorcore makes into a folder, with gallery.md"),
}


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """--help shows each option's default, except where there is none (None, or a flag that is off)."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2), like every other failure."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(load=None):
    parser = OneLineErrorParser(prog="tensorcore", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text, formatter_class=HelpFormatter)
        if load is None or load == name:
            importlib.import_module(module).add_arguments(p)
    return parser


def main(argv=None):
    from .errors import TensorcoreError

    argv = sys.argv[1:] if argv is None else list(argv)
    command = argv[0] if argv and argv[0] in COMMANDS else None
    args = build_parser(load=command).parse_args(argv)
    try:
        return int(importlib.import_module(COMMANDS[args.command][0]).run(args) or 0)
    except (TensorcoreError, OSError, MemoryError) as e:
        # One line: the first line of a tensorcore message is the whole diagnosis.
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        print(f"tensorcore {args.command}: error: {first}", file=sys.stderr)
        return 2
    except Exception as e:  # a bug: still one line (TENSORCORE_DEBUG=1 shows the traceback)
        if os.environ.get("TENSORCORE_DEBUG"):
            raise
        first = (str(e).strip().splitlines() or [""])[0]
        print(f"tensorcore {args.command}: internal error: {type(e).__name__}: {first} "
              "(TENSORCORE_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"tensorcore {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
