"""The `zynpu` CLI's shared vocabulary: one parser class, one help layout, one name per idea.

Every `cli.py` builds its options from here, so `--device`, `--json`, `--tokens`, `--seconds` and the
port flags mean the same thing in every command, bad values end in one `zynpu: error:` line, and every
`--help` shows defaults and an example. Only CLI modules import this; library code raises `UserError`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from zynpu.device.select import DEFAULT_DEVICE, ENGINES, NPU_DEVICES, device_help


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's line breaks and appends `(default: X)` where the help does not say it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "default" in text
            or default is None
            or default in ("", argparse.SUPPRESS)
            or isinstance(default, bool)
            or not action.option_strings
        ):
            return text
        return f"{text} (default: %(default)s)" if text else "(default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr, exit status 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        line = " ".join(message.split())
        self.exit(2, f"zynpu: error: {self.prog}: {line}; see `{self.prog} --help`\n")


def one_line(problem: str) -> str:
    """An exception's text folded to one line (a user error is printed on exactly one line)."""
    return " ".join(str(problem).split())


# --- value types: each rejects a bad value at parse time, so the message names the flag ------------


def _number(kind: Callable[[str], Any], test: Callable[[Any], bool], what: str) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not test(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return value

    parse.__name__ = what  # argparse names the type in its messages
    return parse


positive_int = _number(int, lambda v: v >= 1, "a whole number >= 1")
non_negative_int = _number(int, lambda v: v >= 0, "a whole number >= 0")
positive_float = _number(float, lambda v: v > 0, "a number > 0")
non_negative_float = _number(float, lambda v: v >= 0, "a number >= 0")
port_number = _number(int, lambda v: 0 <= v <= 65535, "a port number 0-65535")


def nonempty_text(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


nonempty_text.__name__ = "text"
nonempty_text.bad_sample = ""  # type: ignore[attr-defined]  # what the CLI test passes as a mistake


# --- the shared options ----------------------------------------------------------------------------


def add_device(
    parser: argparse.ArgumentParser, choices: tuple[str, ...] = NPU_DEVICES, what: str = "runs the tile"
) -> None:
    """`--device`, its choices from the registry (`zynpu.device.select`); `$ZYNPU_DEVICE` is the default."""
    parser.add_argument(
        "--device",
        choices=choices,
        default=None,
        help=f"what {what}: {device_help(choices)} (default: $ZYNPU_DEVICE, else {DEFAULT_DEVICE})",
    )


def add_engine_device(parser: argparse.ArgumentParser) -> None:
    """`--device` for commands that run a model: NPU devices and host engines; `--engine` is its old name."""
    add_device(parser, ENGINES, "runs the model's linear layers")
    hidden_alias(parser, "--engine", "device", choices=ENGINES)


def add_json(parser: argparse.ArgumentParser, what: str = "the result") -> None:
    parser.add_argument("--json", action="store_true", help=f"print {what} as one JSON object on stdout")


def add_tokens(parser: argparse.ArgumentParser, default: int, old: str | None = None) -> None:
    """`--tokens N`: how many tokens to generate (the one name for it); `old` stays as a hidden alias."""
    parser.add_argument("--tokens", type=positive_int, default=default, help="tokens to generate")
    if old:
        hidden_alias(parser, old, "tokens", type=positive_int)


def hidden_alias(parser: argparse.ArgumentParser, flag: str, dest: str, **kwargs: Any) -> None:
    """An old flag name kept working for scripts, not shown in `--help`."""
    parser.add_argument(flag, dest=dest, default=argparse.SUPPRESS, help=argparse.SUPPRESS, **kwargs)


def format_value(value: Any) -> str:
    """One number style for human output: integers plain, floats to 4 significant digits, no `None`."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value == int(value) and abs(value) < 1e15:
            return f"{int(value):,}" if abs(value) >= 10_000 else str(int(value))
        if abs(value) >= 10_000:
            return f"{value:,.0f}"
        return f"{value:.4g}" if abs(value) >= 1e-3 else f"{value:.3e}"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {format_value(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value)
    return str(value)


# --- the finished tree: help layout, examples, groups without a sub-command -----------------------


def subparsers_of(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every parser of the tree with its command path, the root first (aliases visited once)."""
    found = [(path, parser)]
    sub = subparsers_of(parser)
    if sub is not None:
        seen: set[int] = set()
        for name, child in sub.choices.items():
            if id(child) not in seen:
                seen.add(id(child))
                found += walk(child, (*path, name))
    return found


def generated_example(path: tuple[str, ...], parser: argparse.ArgumentParser) -> str:
    """`zynpu PATH --required VALUE ...` from the parser's required arguments, for commands without one."""
    words = ["zynpu", *path]
    for action in parser._actions:
        if action.option_strings and action.required:
            words += [action.option_strings[-1], (action.metavar or action.dest).upper()]
        elif (
            not action.option_strings
            and not isinstance(action, argparse._SubParsersAction)
            and action.nargs not in ("?", "*", argparse.REMAINDER)
        ):
            words.append(str(action.metavar or action.dest).upper())
    return " ".join(words)


def _print_group_help(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    def show(_: argparse.Namespace) -> int:
        parser.print_help()
        return 2  # a group without its sub-command is a usage mistake, like any missing argument

    return show


def finish(root: argparse.ArgumentParser, examples: dict[str, str]) -> None:
    """Give every parser the help layout, an example epilog and, for groups, help with no sub-command."""
    for path, parser in walk(root):
        parser.formatter_class = HelpFormatter
        key = " ".join(path)
        sub = subparsers_of(parser)
        if sub is not None:
            sub.required = False
            parser.set_defaults(func=_print_group_help(parser))
            first = f"{key} {next(iter(sub.choices))}".strip()
            example = examples.get(key) or examples.get(first) or f"zynpu {first} --help"
        else:
            example = examples.get(key) or generated_example(path, parser)
        if "example" not in (parser.epilog or ""):
            block = f"example:\n  {example}"
            parser.epilog = f"{parser.epilog}\n\n{block}" if parser.epilog else block


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()
