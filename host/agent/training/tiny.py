"""Train the shipped tool-calling model: `python -m zynpu.agent.training.tiny [--out DIR] [--seed 0]`.

PyTorch CPU, training only (the runtime never imports torch; install it with the `train` extra).
A Llama-family decoder (tied embeddings) small enough to ship in the repository, trained on the
oracle's trajectories over generated tasks, with the loss only on the tokens the model writes (the
calls). The tokenizer is built, not learned: one token per printable character for data, whole
tokens for the fixed JSON around it (`build_tokenizer`). Batches group examples of similar length and
are padded only to their longest; the LM head runs only where the model writes. The result is an HF
folder (config.json, model.safetensors, tokenizer.json) that `zynpu.model.load` loads unchanged; the
saved folder is checked against the torch logits through the numpy forward.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import time
from pathlib import Path

import numpy as np

from zynpu.agent.prompt import SPECIALS, TinyPrompt
from zynpu.agent.tasks import run_oracle, task_set

MODEL_DIR = Path(__file__).parents[1] / "model"  # the shipped folder, host/agent/model
ARCH = {
    "hidden_size": 128,
    "intermediate_size": 384,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 32,
    "max_position_embeddings": 512,
    "rope_theta": 10000.0,
    "rms_norm_eps": 1e-6,
    "vocab_size": 144,  # the built tokenizer's 133 tokens, rounded up to a multiple of 16
}
PRINTABLE = [chr(c) for c in range(0x20, 0x7F)]


def structure_pieces() -> list[str]:
    """The fixed JSON around the data, one token each: call openings per tool (with the first key, or
    the whole call when its arguments are all enums), the separators and closers between arguments,
    the event and tool-result framings. Every piece holds an unescaped `"` or starts one, so none can
    occur inside a quoted string (where every `"` is escaped) and data stays one token per character."""
    from zynpu.agent.hwtools import Backends, build_registry
    from zynpu.agent.sensors import UNITS

    def opening(p) -> list[str]:  # type: ignore[no-untyped-def]
        """The key and, for enums and booleans, the whole value."""
        if p.enum:
            return [f'"{p.name}":"{v}"' for v in p.enum]
        if p.type == "boolean":
            return [f'"{p.name}":true', f'"{p.name}":false']
        return [f'"{p.name}":"' if p.type == "string" else f'"{p.name}":']

    def closer(p) -> str:  # type: ignore[no-untyped-def]
        return '"' if p.type == "string" and not p.enum else ""

    out: list[str] = ['{"answer":"', '"}']
    for tool in build_registry(Backends()):
        head, ps = f'{{"tool":"{tool.name}","args":{{', tool.params
        if not ps:
            out.append(head + "}}")
            continue
        joints = [[head + o for o in opening(ps[0])]]
        joints += [[closer(a) + "," + o for o in opening(b)] for a, b in itertools.pairwise(ps)]
        if ps[-1].enum or ps[-1].type == "boolean":  # the value is inside the last joint: close it too
            joints[-1] = [j + "}}" for j in joints[-1]]
        else:
            joints.append([closer(ps[-1]) + "}}"])
        out += [j for alts in joints for j in alts]
    out += [f'{{"src":"{s}","text":"' for s in ("udp", "ble", "cli")]
    out += ['{"src":"timer","name":"tick"}', ',"limit":']
    out += [f'{{"src":"sensor","name":"{n}","value":' for n in UNITS]
    out += ['{"ok":true}', '{"value":null}', '{"value":"', '{"value":', '{"jobs":', ',"cycles":']
    out += ['{"time":"', '{"error":"'] + [f',"unit":"{u}"}}' for u in UNITS.values()]
    return list(dict.fromkeys(p for p in out if len(p) > 1))


def build_tokenizer():  # type: ignore[no-untyped-def]
    """Role markers (special), every printable ASCII character, and the structure pieces.

    Pre-tokenization splits the text into escapes (`\\uXXXX`, `\\"`...), structure pieces (longest
    first) and single characters; a piece is one token when the vocabulary has it, else its characters.
    Copying a key, a value or a payload from the event is therefore character-for-character, and the
    tool and its first argument's key are one decision. Nothing is learned from the corpus."""
    import re

    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

    pieces = structure_pieces()
    vocab = {t: i for i, t in enumerate([*SPECIALS, *PRINTABLE, *pieces])}
    longest_first = sorted(pieces, key=len, reverse=True)
    alternatives = [r"\\u[0-9a-fA-F]{4}", r"\\.", *(re.escape(p) for p in longest_first)]
    tok = Tokenizer(models.BPE(vocab, [], unk_token="<|pad|>", ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("|".join([*alternatives, "."])), behavior="isolated")
    tok.decoder = decoders.Fuse()
    tok.add_special_tokens(list(SPECIALS))
    return tok


def encode_example(prompt: TinyPrompt, event: dict, steps: list) -> tuple[list[int], list[int]]:
    """Token ids exactly as the runtime feeds them, and a loss mask marking the model's own tokens: 2 on
    the first token of each output (where it picks the tool or the answer), 1 on the rest, 0 on input."""
    ids = prompt.start(event)
    mask = [0] * len(ids)
    for call, result in steps:
        out = prompt.data(call)
        ids += out
        mask += [2] + [1] * (len(out) - 1)
        if result is not None:
            r = prompt.result(result)
            ids += r
            mask += [0] * len(r)
    return ids, mask


def build_model(arch: dict):  # type: ignore[no-untyped-def]
    """The Llama decoder in torch, QKV and gate/up fused for fewer, larger matmuls (split on save)."""
    import torch
    from torch import nn

    a = arch
    d, hd, nh, nkv = a["hidden_size"], a["head_dim"], a["num_attention_heads"], a["num_key_value_heads"]
    f, eps = a["intermediate_size"], a["rms_norm_eps"]

    class RMSNorm(nn.Module):
        def __init__(self, n: int) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(n))

        def forward(self, x):  # type: ignore[no-untyped-def]
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * self.weight

    def rope(x, cos, sin):  # type: ignore[no-untyped-def]
        h = x.shape[-1] // 2
        x1, x2 = x[..., :h], x[..., h:]
        return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], -1)

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.input_layernorm = RMSNorm(d)
            self.qkv = nn.Linear(d, (nh + 2 * nkv) * hd, bias=False)
            self.o_proj = nn.Linear(nh * hd, d, bias=False)
            self.post_attention_layernorm = RMSNorm(d)
            self.gate_up = nn.Linear(d, 2 * f, bias=False)
            self.down_proj = nn.Linear(f, d, bias=False)

        def forward(self, x, cos, sin):  # type: ignore[no-untyped-def]
            b, t, _ = x.shape
            qkv = self.qkv(self.input_layernorm(x)).view(b, t, nh + 2 * nkv, hd).transpose(1, 2)
            q, k, v = qkv.split([nh, nkv, nkv], dim=1)
            att = torch.nn.functional.scaled_dot_product_attention(
                rope(q, cos, sin), rope(k, cos, sin), v, is_causal=True, enable_gqa=nh != nkv
            )
            x = x + self.o_proj(att.transpose(1, 2).reshape(b, t, nh * hd))
            gate, up = self.gate_up(self.post_attention_layernorm(x)).chunk(2, dim=-1)
            return x + self.down_proj(torch.nn.functional.silu(gate) * up)

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(a["vocab_size"], d)
            self.layers = nn.ModuleList(Block() for _ in range(a["num_hidden_layers"]))
            self.norm = RMSNorm(d)
            inv = 1.0 / (a["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
            ang = torch.arange(a["max_position_embeddings"], dtype=torch.float64)[:, None] * inv[None]
            self.register_buffer("cos", ang.cos().float(), persistent=False)
            self.register_buffer("sin", ang.sin().float(), persistent=False)
            nn.init.normal_(self.embed.weight, std=0.05)
            for blk in self.layers:  # residual writers start small (GPT-2 style)
                for lin in (blk.o_proj, blk.down_proj):
                    nn.init.normal_(lin.weight, std=0.02 / math.sqrt(2 * a["num_hidden_layers"]))

        def hidden(self, ids):  # type: ignore[no-untyped-def]
            t = ids.shape[1]
            cos, sin = self.cos[:t], self.sin[:t]
            x = self.embed(ids)
            for layer in self.layers:
                x = layer(x, cos, sin)
            return x

        def logits(self, h):  # type: ignore[no-untyped-def]
            return self.norm(h) @ self.embed.weight.T

        def forward(self, ids):  # type: ignore[no-untyped-def]
            return self.logits(self.hidden(ids))

    return Model()


def hf_state(model, arch: dict) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    """The HF Llama tensor names and shapes (fused matrices split back)."""
    nh, nkv, hd = arch["num_attention_heads"], arch["num_key_value_heads"], arch["head_dim"]
    out = {"model.embed_tokens.weight": model.embed.weight, "model.norm.weight": model.norm.weight}
    for i, blk in enumerate(model.layers):
        p = f"model.layers.{i}."
        out[p + "input_layernorm.weight"] = blk.input_layernorm.weight
        out[p + "post_attention_layernorm.weight"] = blk.post_attention_layernorm.weight
        q, k, v = blk.qkv.weight.split([nh * hd, nkv * hd, nkv * hd], dim=0)
        out |= {p + "self_attn.q_proj.weight": q, p + "self_attn.k_proj.weight": k}
        out |= {p + "self_attn.v_proj.weight": v, p + "self_attn.o_proj.weight": blk.o_proj.weight}
        gate, up = blk.gate_up.weight.chunk(2, dim=0)
        out |= {p + "mlp.gate_proj.weight": gate, p + "mlp.up_proj.weight": up}
        out[p + "mlp.down_proj.weight"] = blk.down_proj.weight
    return {k: np.ascontiguousarray(v.detach().float().numpy()) for k, v in out.items()}


def save(out: Path, model, tok, arch: dict, meta: dict) -> None:  # type: ignore[no-untyped-def]
    from safetensors.numpy import save_file

    out.mkdir(parents=True, exist_ok=True)
    vocab = tok.get_vocab()
    cfg = {
        "model_type": "llama",
        "architectures": ["LlamaForCausalLM"],
        **arch,
        "tie_word_embeddings": True,
        "bos_token_id": vocab["<|bos|>"],
        "eos_token_id": vocab["<|eos|>"],
    }
    save_file(hf_state(model, arch), str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "config.json").write_text(json.dumps(cfg, indent=1) + "\n")
    tok.save(str(out / "tokenizer.json"))
    (out / "tokenizer_config.json").write_text(json.dumps({"add_bos_token": False}) + "\n")
    (out / "training.json").write_text(json.dumps(meta, indent=1) + "\n")


def batches(lengths: list[int], batch: int, rng: random.Random) -> list[list[int]]:
    """One epoch of batches of similar length (shuffled in pools of 64 batches, sorted within a pool,
    pools' batches shuffled), so padding to the batch's longest example wastes little."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    out: list[list[int]] = []
    pool = 64 * batch
    for i in range(0, len(order), pool):
        chunk = sorted(order[i : i + pool], key=lengths.__getitem__)
        out += [chunk[j : j + batch] for j in range(0, len(chunk) - batch + 1, batch)]
    rng.shuffle(out)
    return out


def main(argv: list[str] | None = None) -> int:
    prog = "python -m zynpu.agent.training.tiny"
    ap = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=MODEL_DIR)
    ap.add_argument("--seed", type=int, default=0, help="data and init seed (default 0)")
    ap.add_argument("--tasks", type=int, default=80000, help="training tasks (default 80000)")
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--layers", type=int, default=ARCH["num_hidden_layers"])
    ap.add_argument("--hidden", type=int, default=ARCH["hidden_size"])
    ap.add_argument("--ffn", type=int, default=ARCH["intermediate_size"])
    ap.add_argument("--heads", type=int, default=ARCH["num_attention_heads"])
    ap.add_argument("--kv-heads", type=int, default=ARCH["num_key_value_heads"])
    ap.add_argument(
        "--decision-weight", type=float, default=3.0, help="loss weight of each output's first token"
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--init", type=Path, default=None, help="continue from this model folder")
    ap.add_argument(
        "--max-seconds",
        type=float,
        default=None,
        help="wall-time budget from start; the LR anneals by steps or by time, whichever runs out first",
    )
    ap.add_argument("--save-every", type=int, default=0, help="also save every N steps (0: at the end)")
    args = ap.parse_args(argv)

    import torch

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    t0 = time.time()
    arch = dict(ARCH)
    arch.update(
        num_hidden_layers=args.layers,
        hidden_size=args.hidden,
        intermediate_size=args.ffn,
        num_attention_heads=args.heads,
        num_key_value_heads=args.kv_heads,
        head_dim=args.hidden // args.heads,
    )
    tasks = task_set("train", args.tasks, args.seed)
    examples = [(t.event, run_oracle(t)) for t in tasks]
    if args.init is not None:
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(args.init / "tokenizer.json"))
    else:
        tok = build_tokenizer()
    assert tok.get_vocab_size() <= arch["vocab_size"]

    from zynpu.model.tokenizer import TextTokenizer

    prompt = TinyPrompt(TextTokenizer(tok, None, (), False))
    data = [encode_example(prompt, e, s) for e, s in examples]
    lengths = [len(ids) for ids, _ in data]
    print(
        f"{len(data)} examples, {sum(lengths)} tokens, longest {max(lengths)}, "
        f"vocab {tok.get_vocab_size()} ({time.time() - t0:.1f} s)",
        flush=True,
    )
    assert max(lengths) <= arch["max_position_embeddings"]
    ids_all = torch.zeros((len(data), max(lengths)), dtype=torch.long)
    weight_all = torch.zeros((len(data), max(lengths)), dtype=torch.float32)
    for r, (x, m) in enumerate(data):
        ids_all[r, : len(x)] = torch.tensor(x)
        weight_all[r, : len(m)] = torch.tensor([(0.0, 1.0, args.decision_weight)[k] for k in m])

    model = build_model(arch)
    if args.init is not None:
        _load_init(model, args.init, arch)
    print(f"{sum(p.numel() for p in model.parameters())} parameters", flush=True)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}],
        lr=args.lr,
        betas=(0.9, 0.98),
    )
    steps = args.steps
    warm = max(1, steps // 50)
    t_train = time.time()

    def progress(s: int) -> float:
        """Fraction of the run done: by steps, or by the time budget when that runs out first (a shared
        machine's speed is not known in advance, and a budgeted run must still end annealed)."""
        if args.max_seconds is None:
            return min(1.0, s / steps)
        budget = max(1.0, args.max_seconds - (t_train - t0))
        return min(1.0, max(s / steps, (time.time() - t_train) / budget))

    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * progress(s)))
    )
    rng = random.Random(args.seed)
    queue: list[list[int]] = []
    loss_ema = None
    done = 0
    for step in range(steps):
        if step >= warm and progress(step) >= 1.0:
            break
        if not queue:
            queue = batches(lengths, args.batch, rng)
        rows = torch.tensor(queue.pop())
        t = max(lengths[i] for i in rows.tolist())
        ids, weight = ids_all[rows, :t], weight_all[rows, 1:t]
        mask = weight > 0
        h = model.hidden(ids[:, :-1])  # the head and the loss only where the model writes
        nll = torch.nn.functional.cross_entropy(model.logits(h[mask]), ids[:, 1:][mask], reduction="none")
        loss = (nll * weight[mask]).sum() / weight[mask].sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        loss_ema = loss.item() if loss_ema is None else 0.98 * loss_ema + 0.02 * loss.item()
        done = step + 1
        if args.save_every and done % args.save_every == 0:  # a cut-off run still leaves a model
            meta = _meta(args, done, model, loss_ema, time.time() - t0, partial=True)
            save(args.out, model, tok, arch, meta)
        if step % 100 == 0 or step == steps - 1:
            print(
                f"step {step}/{steps} loss {loss.item():.4f} (ema {loss_ema:.4f}) {time.time() - t0:.0f} s",
                flush=True,
            )
    meta = _meta(args, done, model, loss_ema, time.time() - t0, partial=False)
    save(args.out, model, tok, arch, meta)
    _check_against_numpy(args.out, model, data[0][0])
    print(json.dumps(meta))
    return 0


def _meta(args, done: int, model, loss_ema: float | None, elapsed: float, partial: bool) -> dict:  # type: ignore[no-untyped-def]
    """The training record written beside the weights (training.json)."""
    import torch

    cmd = (
        f"python -m zynpu.agent.training.tiny --seed {args.seed} --tasks {args.tasks} --steps {args.steps} "
        f"--batch {args.batch} --lr {args.lr} --layers {args.layers} --hidden {args.hidden} "
        f"--ffn {args.ffn} --heads {args.heads} --kv-heads {args.kv_heads} "
        f"--decision-weight {args.decision_weight} --threads {args.threads}"
    )
    if args.max_seconds is not None:
        cmd += f" --max-seconds {args.max_seconds:g}"
    meta = {
        "command": cmd + (f" --init {args.init}" if args.init else ""),
        "seed": args.seed,
        "tasks": args.tasks,
        "steps": done,
        "batch": args.batch,
        "parameters": sum(p.numel() for p in model.parameters()),
        "final_loss_ema": round(loss_ema or 0.0, 5),
        "seconds": round(elapsed, 1),
        "torch": torch.__version__,
        "threads": args.threads,
        "decision_weight": args.decision_weight,
    }
    if args.init is not None:
        meta["init"] = str(args.init)
    if partial:
        meta["partial"] = True
    return meta


def _load_init(model, path: Path, arch: dict) -> None:  # type: ignore[no-untyped-def]
    """Start from a saved folder's weights (the HF names `hf_state` writes, fused back)."""
    import torch
    from safetensors.numpy import load_file

    w = {k: torch.from_numpy(v) for k, v in load_file(str(path / "model.safetensors")).items()}
    with torch.no_grad():
        model.embed.weight.copy_(w["model.embed_tokens.weight"])
        model.norm.weight.copy_(w["model.norm.weight"])
        for i, blk in enumerate(model.layers):
            p = f"model.layers.{i}."
            blk.input_layernorm.weight.copy_(w[p + "input_layernorm.weight"])
            blk.post_attention_layernorm.weight.copy_(w[p + "post_attention_layernorm.weight"])
            qkv = [w[p + f"self_attn.{n}_proj.weight"] for n in "qkv"]
            blk.qkv.weight.copy_(torch.cat(qkv))
            blk.o_proj.weight.copy_(w[p + "self_attn.o_proj.weight"])
            blk.gate_up.weight.copy_(torch.cat([w[p + "mlp.gate_proj.weight"], w[p + "mlp.up_proj.weight"]]))
            blk.down_proj.weight.copy_(w[p + "mlp.down_proj.weight"])


def _check_against_numpy(path: Path, model, ids: list[int]) -> None:  # type: ignore[no-untyped-def]
    """The saved folder, loaded by zynpu.model in float32, must give the torch logits."""
    import torch

    from zynpu.model.load import load

    tr, _ = load(path, engine=None, progress=False)
    got = tr.forward(np.asarray(ids), tr.new_cache(len(ids)), all_logits=True)
    with torch.no_grad():
        want = model(torch.tensor([ids]))[0].numpy()
    err = float(np.abs(got - want).max())
    print(f"numpy vs torch max logit difference {err:.2e}")
    assert err < 1e-2, err


if __name__ == "__main__":
    raise SystemExit(main())
