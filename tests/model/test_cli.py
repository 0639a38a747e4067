"""`zynpu generate` as the CLI will call it, with an injected engine factory."""

import argparse

import pytest

from zynpu.errors import UserError
from zynpu.model import cli
from zynpu.model.engine import NumpyEngine


def _parser(**kw) -> argparse.ArgumentParser:  # type: ignore[no-untyped-def]
    p = argparse.ArgumentParser()
    cli.register(p.add_subparsers(), **kw)
    return p


def test_generate_streams_tokens(tiny_paths, capsys: pytest.CaptureFixture[str]) -> None:
    g, _ = tiny_paths("llama")
    a = _parser().parse_args(
        ["generate", "--model", str(g), "--prompt", "The keeper", "--max-tokens", "5", "--stats"]
    )
    assert a.func(a) == 0
    out, err = capsys.readouterr()
    assert out.endswith("\n") and len(out) > 1
    assert "5 tokens" in err and "engine jobs 45" in err  # 5 tokens x (4 x 2 layers + LM head)


def test_float_engine_and_sampling_flags(tiny_paths, capsys: pytest.CaptureFixture[str]) -> None:
    _, h = tiny_paths("gemma3")
    args = [
        "generate",
        "--model",
        str(h),
        "--prompt",
        "lamp",
        "--max-tokens",
        "4",
        "--engine",
        "float",
        "--temperature",
        "0.8",
        "--top-k",
        "5",
        "--top-p",
        "0.9",
        "--seed",
        "1",
    ]
    a = _parser().parse_args(args)
    a.func(a)
    first = capsys.readouterr().out
    a.func(a)
    assert capsys.readouterr().out == first


def test_injected_engine_factory(tiny_paths) -> None:
    made = []

    def factory(name: str) -> NumpyEngine:
        made.append(name)
        return NumpyEngine()

    a = _parser(engine_factory=factory, engine_choices=("sim",)).parse_args(
        [
            "generate",
            "--model",
            str(tiny_paths("qwen2")[0]),
            "--prompt",
            "x",
            "--max-tokens",
            "1",
            "--engine",
            "sim",
        ]
    )
    a.func(a)
    assert made == ["sim"]


def test_user_errors_are_command_errors(tmp_path) -> None:
    p = _parser()
    for args, msg in [
        (["--model", str(tmp_path / "nope.gguf")], "no such model"),
        (["--model", "tiny-mamba"], "unknown test model"),
    ]:
        a = p.parse_args(["generate", "--prompt", "x", *args])
        with pytest.raises(UserError, match=msg):
            a.func(a)
    with pytest.raises(SystemExit):  # a count below 1 is refused while parsing, naming the flag
        p.parse_args(["generate", "--prompt", "x", "--model", "tiny-qwen2", "--tokens", "0"])


def test_json_output(tiny_paths, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    g, _ = tiny_paths("llama")
    argv = ["generate", "--model", str(g), "--prompt", "The keeper", "--tokens", "3", "--device", "numpy"]
    a = _parser().parse_args([*argv, "--json"])
    assert a.func(a) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["tokens"] == len(report["token_ids"]) <= 3 and report["device"] == "numpy"
