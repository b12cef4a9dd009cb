"""Every `tensorcore <command> --help` (and every `tensorcore bench <suite> --help`) gives each option's
meaning and, where it has one, its default."""

import argparse

import pytest

from tensorcore.cli import COMMANDS, build_parser


def _subparsers(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices
    return {}


def _all_parsers():
    out = []
    for name in COMMANDS:
        p = _subparsers(build_parser(load=name))[name]
        out.append((f"tensorcore {name}", p))
        out += [(f"tensorcore {name} {sub}", q) for sub, q in _subparsers(p).items()]
    return out


@pytest.mark.parametrize("prog,parser", _all_parsers(), ids=lambda v: v if isinstance(v, str) else "")
def test_help_explains_every_option_and_its_default(prog, parser):
    text = " ".join(parser.format_help().split())
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        name = "/".join(action.option_strings) or action.dest
        assert action.help, f"{prog}: {name} has no help text"
        if action.default not in (None, False, argparse.SUPPRESS) and "default" not in action.help:
            assert f"(default: {action.default})" in text, f"{prog} --help does not give {name}'s default"
