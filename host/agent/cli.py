"""`zynpu agent run|serve|eval|trace`: the agent loop from the command line.

Heavy imports happen inside the commands, so `zynpu --help` stays fast and torch is never needed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _error(msg: str) -> Exception:
    from zynpu.errors import UserError

    return UserError(msg)


def _home(args: argparse.Namespace) -> Path:
    from zynpu.agent.store import default_home

    return Path(args.home) if args.home else default_home()


def _llm(args: argparse.Namespace) -> Any:
    from zynpu.agent.llm import load_llm
    from zynpu.device.select import ENGINES, device_name
    from zynpu.model.errors import ModelLoadError

    try:
        return load_llm(args.model, engine=device_name(args.device, ENGINES), temperature=args.temperature)
    except (ModelLoadError, ValueError) as e:
        raise _error(str(e)) from None


def _agent(args: argparse.Namespace, llm: Any, backends: Any) -> Any:
    from zynpu.agent.runtime import Agent, Budgets
    from zynpu.agent.store import Store
    from zynpu.agent.trace import Tracer

    home = _home(args)
    budgets = Budgets(max_steps=args.max_steps, max_tokens=args.max_tokens, wall_time=args.max_seconds)
    return Agent(
        llm, Store(home / "agent.db"), Tracer(home / "traces.jsonl"), backends, budgets, args.instructions
    )


def _backends(args: argparse.Namespace, llm: Any, outbox: Any = None) -> Any:
    from zynpu.agent.hwtools import Backends, FixedCounters, LiveCounters, RecordingOutbox
    from zynpu.agent.sensors import SimSensors, open_sensors

    try:
        sensors = open_sensors(args.sensors) if args.sensors == "hwmon" else SimSensors(args.temp, args.power)
    except FileNotFoundError as e:
        raise _error(str(e)) from None
    from zynpu.agent.store import KeyValue, Store

    return Backends(
        outbox=outbox or RecordingOutbox(),
        sensors=sensors,
        npu=LiveCounters(llm.npu) if llm.npu is not None else FixedCounters(),
        memory=KeyValue(Store(_home(args) / "agent.db")),
        peer_host=args.peer,
    )


def _print_result(r: Any, as_json: bool) -> None:
    if as_json:
        print(
            json.dumps(
                {
                    "session": r.session_id,
                    "end_reason": r.end_reason,
                    "answer": r.answer,
                    "steps": [
                        {
                            "output": s.output,
                            "result": s.result,
                            "input_tokens": s.input_tokens,
                            "output_tokens": s.output_tokens,
                            "npu_cycles": s.cycles,
                        }
                        for s in r.steps
                    ],
                },
                indent=1,
            )
        )
        return
    for s in r.steps:
        print(f"  -> {s.output}" + (f"\n  <- {json.dumps(s.result)}" if s.result is not None else ""))
    print(
        f"session {r.session_id}: {r.end_reason}; answer: {r.answer!r} "
        f"({r.input_tokens} in / {r.output_tokens} out tokens, {r.cycles} NPU cycles, {r.seconds:.1f} s)"
    )


def cmd_run(args: argparse.Namespace) -> int:
    with _llm(args) as llm:
        outbox = _host_outbox()
        try:
            backends = _backends(args, llm, outbox=outbox)
            agent = _agent(args, llm, backends)
            r = agent.handle({"src": "cli", "text": args.task}, ("cli", None), session_id=args.session)
        finally:
            outbox.close()
    _print_result(r, args.json)
    _print_sent(backends.outbox)
    return 0 if r.end_reason == "answer" else 1


def _host_outbox() -> Any:
    from zynpu.agent.hwtools import HostUdpOutbox

    return HostUdpOutbox()


def _print_sent(outbox: Any) -> None:
    """What really went out (udp_send datagrams left through a host socket)."""
    for kind, addr, data in outbox.sent:
        if kind == "udp":
            print(f"  (sent over udp to {addr[0]}:{addr[1]}: {data!r})", file=sys.stderr)


def cmd_serve(args: argparse.Namespace) -> int:
    with _llm(args) as llm:
        return _serve(args, llm)


def _serve(args: argparse.Namespace, llm: Any) -> int:
    from zynpu.agent.hwtools import RadioOutbox
    from zynpu.agent.serve import EventLoop, Threshold

    if args.radio == "sim":
        from zynpu.radio import open_sim

        radio = open_sim()
    elif args.radio == "none":
        radio = None
    else:
        from zynpu.radio import Radio
        from zynpu.radio.spidev import SpidevTransport

        try:
            radio = Radio(SpidevTransport(args.radio, handshake=0, data_ready=1))
            radio.wait_up()
        except (OSError, ImportError) as e:
            raise _error(
                f"cannot open the ESP32's SPI link on {args.radio} ({e}); on a board check the wiring and "
                "the spidev module, here use --radio sim"
            ) from None
    try:
        sock = radio.udp.open(args.udp_port) if radio is not None else None
        if sock is not None:
            print(
                f"listening on UDP port {sock.port} of the ESP32 ({args.radio})",
                flush=True,
            )
        backends = _backends(args, llm, RadioOutbox(radio, sock) if radio is not None else None)
        loop = EventLoop(
            _agent(args, llm, backends),
            radio,
            sock,
            args.timer,
            backends.sensors,
            [Threshold("temp", args.temp_limit)] if args.temp_limit is not None else [],
            resume=args.resume,
        )
        for r in loop.results(args.max_events, args.seconds):
            _print_result(r, args.json)
    finally:
        if radio is not None:
            radio.close()
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from zynpu.agent.evaluate import evaluate
    from zynpu.cli_options import format_value
    from zynpu.device.select import ENGINES, device_name

    progress = sys.stderr.isatty() if args.progress is None else args.progress
    device = device_name(args.device, ENGINES)
    with _llm(args) as llm:
        report = evaluate(llm, args.tasks, args.seed, progress=progress, suite=args.suite, device=device)
    if not args.per_task:
        report.pop("per_task")
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        for k, v in report.items():
            print(f"{k}: {format_value(v)}")
    return 0


def cmd_trace(args: argparse.Namespace) -> int:
    from zynpu.agent.store import Store
    from zynpu.agent.trace import read_spans, timeline

    home = _home(args)
    sid = args.session
    if sid == "last":
        rows = Store(home / "agent.db").sessions(1)
        if not rows:
            raise _error(f"no sessions in {home}")
        sid = rows[0].id
    spans = read_spans(home / "traces.jsonl", sid)
    if not spans:
        raise _error(f"no spans for session {sid!r} in {home / 'traces.jsonl'}")
    print(json.dumps(spans, indent=1) if args.json else timeline(spans))
    return 0


def _common(p: argparse.ArgumentParser, model: bool = True) -> None:
    p.add_argument(
        "--home",
        default=None,
        help="sessions db and traces (default $ZYNPU_AGENT_HOME or ~/.cache/zynpu/agent)",
    )
    if not model:
        return
    from zynpu.cli_options import add_engine_device, add_json, non_negative_float

    add_engine_device(p)
    p.add_argument(
        "--model", default=None, help="model folder/file, or gemma3-270m (default: the shipped model)"
    )
    p.add_argument("--temperature", type=non_negative_float, default=0.0, help="0 = greedy")
    add_json(p)


def _session_opts(p: argparse.ArgumentParser) -> None:
    from zynpu.cli_options import hidden_alias, positive_float, positive_int

    p.add_argument("--max-steps", type=positive_int, default=6, help="budget: model steps per session")
    p.add_argument("--max-tokens", type=positive_int, default=1024, help="budget: tokens per session")
    p.add_argument("--max-seconds", type=positive_float, default=300.0, help="budget: seconds per session")
    hidden_alias(p, "--wall-time", "max_seconds", type=positive_float)
    p.add_argument("--instructions", default="", help="session instructions (system text)")
    p.add_argument("--sensors", choices=("sim", "hwmon"), default="sim", help="sim or the board's hwmon")
    p.add_argument("--temp", type=float, default=47.5, help="simulated temperature (C)")
    p.add_argument("--power", type=float, default=3.2, help="simulated power (W)")
    p.add_argument("--peer", default="127.0.0.1", help="the only host udp_send may reach")


def _eval_suite_opts(p: argparse.ArgumentParser) -> None:
    """Which task set `agent eval` runs (the honest one unless asked otherwise)."""
    p.add_argument(
        "--suite",
        choices=("honest", "legacy"),
        default="honest",
        help="honest: evaldata/honest.json, wording and data training never saw (default); "
        "legacy: the old in-distribution set",
    )
    p.set_defaults(tasks=120)


def register(subparsers: argparse._SubParsersAction) -> None:
    agent = subparsers.add_parser(
        "agent", help="the tool-calling agent loop on the NPU (run, serve, eval, trace)"
    )
    sub = agent.add_subparsers(dest="agent_command", metavar="ACTION")

    run = sub.add_parser("run", help="run one session for a task given on the command line")
    run.add_argument("task")
    run.add_argument("--session", default=None, help="resume this session id")
    _common(run)
    _session_opts(run)
    run.set_defaults(func=cmd_run)

    serve = sub.add_parser("serve", help="wake on radio datagrams/BLE writes, a timer or a sensor threshold")
    _common(serve)
    _session_opts(serve)
    from zynpu.cli_options import hidden_alias, port_number, positive_float, positive_int

    serve.add_argument(
        "--radio", default="sim", help="sim (the simulated ESP32), none, or the board's spidev path"
    )
    serve.add_argument("--udp-port", type=port_number, default=0, help="UDP port on the ESP32 (0: any)")
    hidden_alias(serve, "--port", "udp_port", type=port_number)
    serve.add_argument("--timer", type=positive_float, default=None, help="seconds between timer events")
    serve.add_argument(
        "--temp-limit", type=float, default=None, help="wake when the temperature (C) exceeds this"
    )
    serve.add_argument(
        "--max-events",
        type=positive_int,
        default=None,
        help="stop after this many events (default: run until Ctrl-C)",
    )
    serve.add_argument(
        "--seconds",
        type=positive_float,
        default=None,
        help="stop after this many seconds (default: no limit)",
    )
    hidden_alias(serve, "--duration", "seconds", type=positive_float)
    serve.add_argument("--resume", action="store_true", help="continue the session of the same origin")
    serve.set_defaults(func=cmd_serve)

    ev = sub.add_parser("eval", help="task_success and costs on the held-out task set")
    _common(ev)
    from zynpu.cli_options import positive_int

    ev.add_argument("--tasks", type=positive_int, default=50, help="held-out tasks to run")
    ev.add_argument("--seed", type=int, default=1, help="which held-out task set")
    ev.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a progress bar on stderr (default: when stderr is a terminal)",
    )
    ev.add_argument("--per-task", action="store_true", help="include every task's outcome")
    _eval_suite_opts(ev)
    ev.set_defaults(func=cmd_eval)

    tr = sub.add_parser("trace", help="print a session's spans as a timeline")
    tr.add_argument("session", help="session id, or `last`")
    from zynpu.cli_options import add_json

    add_json(tr, "the spans")
    _common(tr, model=False)
    tr.set_defaults(func=cmd_trace)
