"""Every `zynpu` command, found by walking the argparse tree, answers bad input with one error line.

The walk is over the real parser (`zynpu.cli.build_parser`), so a command added later is covered
without editing this file. Each mistake must end in exactly one stderr line starting `zynpu: error:`,
exit status 2, and no traceback.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from zynpu.cli import build_parser, main
from zynpu.cli_options import subparsers_of, walk

TREE = walk(build_parser())
LEAVES = [(path, p) for path, p in TREE if subparsers_of(p) is None]
GROUPS = [(path, p) for path, p in TREE if subparsers_of(p) is not None]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(code: int, err: str, argv: list[str], progress_before: bool = False) -> None:
    """Exit 2 and one `zynpu: error:` line; after parsing, progress lines may come before it."""
    lines = err.strip().splitlines()
    assert code == 2, (argv, code, err)
    errors = [line for line in lines if line.startswith("zynpu: error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], (argv, err)
    assert len(lines) == 1 or progress_before, (argv, err)
    assert "Traceback" not in err


def _filler(action: argparse.Action) -> str:
    """A valid value for a required argument, so the mistake under test is the only one."""
    if action.choices:
        return str(next(iter(action.choices)))
    return "1" if action.type not in (None, str) else "x"


def required_words(parser: argparse.ArgumentParser) -> list[str]:
    words: list[str] = []
    for action in parser._actions:
        if action.option_strings and action.required:
            words += [action.option_strings[0], _filler(action)]
        elif not action.option_strings and action.nargs not in ("?", "*", argparse.REMAINDER):
            words.append(_filler(action))
    return words


def bad_value_cases() -> list[tuple[list[str], str]]:
    """(argv, id) for every typed or choice-restricted option of every command, hidden aliases too."""
    cases = []
    for path, parser in LEAVES:
        for action in parser._actions:
            if not action.option_strings or action.nargs == 0:
                continue
            if not action.choices and action.type in (None, str, Path):
                continue  # free text and paths: no value is bad at parse time
            flag = action.option_strings[-1]
            bad = getattr(action.type, "bad_sample", "bogus-value")
            argv = [*path, *required_words(parser), flag, bad]
            cases.append((argv, f"{' '.join(path)} {flag}"))
    return cases


BAD_VALUES = bad_value_cases()


def test_the_walk_finds_the_whole_tree() -> None:
    names = {" ".join(path) for path, _ in LEAVES}
    assert {"demo", "generate", "roofline", "bench", "agent run", "radio ping", "board deploy"} <= names
    assert len(BAD_VALUES) > 40  # every typed option of every command


@pytest.mark.parametrize("argv", [c[0] for c in BAD_VALUES], ids=[c[1] for c in BAD_VALUES])
def test_bad_value_is_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(argv, capsys)
    assert_one_error_line(code, err, argv)
    assert argv[-2] in err  # the message names the flag


@pytest.mark.parametrize("path", [p for p, _ in LEAVES], ids=[" ".join(p) for p, _ in LEAVES])
def test_unknown_option_and_missing_arguments_are_one_line(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    parser = dict(TREE)[path]
    takes_the_rest = any(a.nargs == argparse.REMAINDER for a in parser._actions)  # `-- COMMAND ...`
    if not takes_the_rest:
        code, _, err = run([*path, *required_words(parser), "--no-such-option"], capsys)
        assert_one_error_line(code, err, [*path, "--no-such-option"])
    if required_words(parser):
        code, _, err = run(list(path), capsys)
        assert_one_error_line(code, err, list(path))
        assert "required" in err


@pytest.mark.parametrize("path", [p for p, _ in GROUPS], ids=[" ".join(p) or "zynpu" for p, _ in GROUPS])
def test_a_group_alone_prints_its_help_and_exits_2(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(list(path), capsys)
    assert code == 2 and err == ""
    assert out.startswith(f"usage: {' '.join(['zynpu', *path])}") and "example:" in out


@pytest.mark.parametrize("path", [p for p, _ in TREE], ids=[" ".join(p) or "zynpu" for p, _ in TREE])
def test_every_help_has_an_example(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([*path, "--help"], capsys)
    assert code == 0
    example = out.split("example:")[1].strip().splitlines()[0]
    assert example.startswith("zynpu")
    words = example.split()[1 : 1 + len(path)]
    assert words == list(path)  # the example runs this very command


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from zynpu import __version__

    code, out, _ = run(["--version"], capsys)
    assert code == 0 and out.strip() == f"zynpu {__version__}"


def test_device_choices_come_from_the_registry() -> None:
    from zynpu.device.select import ENGINES, NPU_DEVICES

    seen = {}
    for path, parser in LEAVES:
        for action in parser._actions:
            if "--device" in action.option_strings:
                seen[" ".join(path)] = tuple(action.choices)
    assert seen["demo"] == NPU_DEVICES
    # `bench serve` runs a model, so host engines too (`bench tile` refuses them with one line)
    assert seen["generate"] == ENGINES and seen["agent run"] == ENGINES and seen["bench"] == ENGINES
    assert seen["serve"] == ENGINES


def test_old_flag_names_still_work() -> None:
    parser = build_parser()
    old = ["--max-tokens", "3", "--engine", "numpy"]
    a = parser.parse_args(["generate", "--model", "m", "--prompt", "p", *old])
    assert (a.tokens, a.device) == (3, "numpy")
    for flag in ("--port", "--ssh-port"):
        assert parser.parse_args(["board", "run", "--host", "h", flag, "2222"]).port == 2222
    for flag in ("--port", "--serial"):
        assert parser.parse_args(["radio", "console", flag, "/dev/ttyUSB0"]).port == "/dev/ttyUSB0"
    assert parser.parse_args(["radio", "ping", "--spi", "/dev/spidev1.0"]).radio == "/dev/spidev1.0"
    serve = parser.parse_args(["agent", "serve", "--port", "9000", "--duration", "5", "--wall-time", "7"])
    assert (serve.udp_port, serve.seconds, serve.max_seconds) == (9000, 5.0, 7.0)


# The mistakes a newcomer makes, each found in the issue as a traceback; they fail after parsing.
RUNTIME_MISTAKES = [
    (["bench", "decode", "--device", "ref", "--model", "{tmp}/random.gguf"], "random.gguf"),
    (["bench", "decode", "--device", "ref", "--model", "{tmp}/missing.gguf"], "no such model"),
    (["generate", "--device", "numpy", "--model", "{tmp}/random.gguf", "--prompt", "x"], "random.gguf"),
    (["generate", "--device", "numpy", "--model", "tiny-mamba", "--prompt", "x"], "unknown test model"),
    (["roofline", "--model", "{tmp}/missing.gguf"], "no such model"),
    (["agent", "serve", "--device", "numpy", "--radio", "/dev/spidev9.9"], "--radio sim"),
]


@pytest.mark.parametrize("argv,says", RUNTIME_MISTAKES, ids=[" ".join(a[:2]) + f" {i}" for i, (a, _) in
                                                          enumerate(RUNTIME_MISTAKES)])
def test_runtime_mistake_is_one_line(
    argv: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "random.gguf").write_bytes(bytes(range(256)) * 64)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, _, err = run(argv, capsys)
    assert_one_error_line(code, err, argv, progress_before=True)
    assert says in err


def test_unknown_device_in_the_environment(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("ZYNPU_DEVICE", "gpu")
    code, _, err = run(["bench", "tile"], capsys)
    assert_one_error_line(code, err, ["bench", "tile"], progress_before=True)
    assert "ZYNPU_DEVICE" in err and "sim, ref, board" in err


@pytest.mark.skipif(importlib.util.find_spec("pynq") is not None, reason="pynq is installed here")
def test_board_device_without_pynq(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["demo", "--device", "board", "--matmul-only"], capsys)
    assert_one_error_line(code, err, ["demo", "--device", "board"], progress_before=True)
    assert "pynq" in err


def test_missing_build_tools_are_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from zynpu.device.sim.build import check_build_tools
    from zynpu.errors import UserError

    (tmp_path / "make").write_text("#!/bin/sh\n")
    (tmp_path / "make").chmod(0o755)
    monkeypatch.delenv("CXX", raising=False)
    with pytest.raises(UserError, match=r"needs perl, g\+\+.*apt-get install g\+\+ make perl"):
        check_build_tools(str(tmp_path))
    check_build_tools()  # this machine has them all


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    """The installed entry point, as a user runs it: one line by default, the traceback with --debug."""
    argv = [sys.executable, "-m", "zynpu.cli", "roofline", "--model", str(tmp_path / "none.gguf")]
    plain = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert plain.returncode == 2 and plain.stderr.count("\n") == 1 and "Traceback" not in plain.stderr
    debug = subprocess.run([*argv, "--debug"], capture_output=True, text=True, timeout=60)
    assert "Traceback" in debug.stderr and "no such model" in debug.stderr


def test_a_missing_optional_package_names_its_extra() -> None:
    """A board image without the `model` extra: Python finds no `gguf`, the user is told which extra."""
    code = (
        "import sys; sys.modules['gguf'] = None\n"  # what Python does for a package that is absent
        "from zynpu.cli import main; sys.exit(main(['roofline', '--model', 'tiny-llama']))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "'gguf'" in done.stderr and "zynpu[model]" in done.stderr
