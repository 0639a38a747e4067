"""Train the shipped tool-calling model: `python -m zynpu.agent.train [--out DIR] [--seed 0]`.

PyTorch CPU, training only (the runtime never imports torch; install it with the `train` extra).
A Llama-family decoder (tied embeddings) small enough to ship in the repository, trained on the
oracle's trajectories over generated tasks, with the loss only on the tokens the model writes (the
calls). The result is an HF folder (config.json, model.safetensors, tokenizer.json) that
`zynpu.model.load` loads unchanged; it is checked against the numpy forward before it is written.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

import numpy as np

from zynpu.agent.prompt import SPECIALS, TinyPrompt, render_tiny
from zynpu.agent.tasks import run_oracle, task_set

MODEL_DIR = Path(__file__).parent / "model"
ARCH = {
    "hidden_size": 128,
    "intermediate_size": 320,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 32,
    "max_position_embeddings": 256,
    "rope_theta": 10000.0,
    "rms_norm_eps": 1e-6,
    "vocab_size": 512,
}
SPLIT_RE = r"[0-9]| ?[A-Za-z_]+|[^\sA-Za-z0-9_]+|\s+"  # digits stay single, so numbers copy digit by digit


def train_tokenizer(texts: list[str], vocab_size: int):  # type: ignore[no-untyped-def]
    """Byte-level BPE on the corpus; role markers are special tokens, every byte is a token."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(SPLIT_RE), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIALS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    return tok


def encode_example(prompt: TinyPrompt, event: dict, steps: list) -> tuple[list[int], list[int]]:
    """Token ids exactly as the runtime feeds them, and a 0/1 loss mask marking the model's own tokens."""
    ids = prompt.start(event)
    mask = [0] * len(ids)
    for call, result in steps:
        out = prompt.data(call)
        ids += out
        mask += [1] * len(out)
        if result is not None:
            r = prompt.result(result)
            ids += r
            mask += [0] * len(r)
    return ids, mask


def build_model(vocab: int):  # type: ignore[no-untyped-def]
    import torch
    from torch import nn

    a = ARCH
    d, hd, nh, nkv = a["hidden_size"], a["head_dim"], a["num_attention_heads"], a["num_key_value_heads"]

    class RMSNorm(nn.Module):
        def __init__(self, n: int) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(n))

        def forward(self, x):  # type: ignore[no-untyped-def]
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + a["rms_norm_eps"]) * self.weight

    def rope(x, cos, sin):  # type: ignore[no-untyped-def]
        h = x.shape[-1] // 2
        x1, x2 = x[..., :h], x[..., h:]
        return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], -1)

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.input_layernorm = RMSNorm(d)
            self.q_proj = nn.Linear(d, nh * hd, bias=False)
            self.k_proj = nn.Linear(d, nkv * hd, bias=False)
            self.v_proj = nn.Linear(d, nkv * hd, bias=False)
            self.o_proj = nn.Linear(nh * hd, d, bias=False)
            self.post_attention_layernorm = RMSNorm(d)
            f = a["intermediate_size"]
            self.gate_proj = nn.Linear(d, f, bias=False)
            self.up_proj = nn.Linear(d, f, bias=False)
            self.down_proj = nn.Linear(f, d, bias=False)

        def forward(self, x, cos, sin):  # type: ignore[no-untyped-def]
            b, t, _ = x.shape
            h = self.input_layernorm(x)
            q = rope(self.q_proj(h).view(b, t, nh, hd).transpose(1, 2), cos, sin)
            k = rope(self.k_proj(h).view(b, t, nkv, hd).transpose(1, 2), cos, sin)
            v = self.v_proj(h).view(b, t, nkv, hd).transpose(1, 2)
            k, v = k.repeat_interleave(nh // nkv, 1), v.repeat_interleave(nh // nkv, 1)
            att = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.o_proj(att.transpose(1, 2).reshape(b, t, nh * hd))
            h = self.post_attention_layernorm(x)
            return x + self.down_proj(torch.nn.functional.silu(self.gate_proj(h)) * self.up_proj(h))

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(vocab, d)
            self.layers = nn.ModuleList(Block() for _ in range(a["num_hidden_layers"]))
            self.norm = RMSNorm(d)
            inv = 1.0 / (a["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
            ang = torch.arange(a["max_position_embeddings"], dtype=torch.float64)[:, None] * inv[None]
            self.register_buffer("cos", ang.cos().float(), persistent=False)
            self.register_buffer("sin", ang.sin().float(), persistent=False)
            nn.init.normal_(self.embed.weight, std=0.05)

        def forward(self, ids):  # type: ignore[no-untyped-def]
            t = ids.shape[1]
            cos, sin = self.cos[:t], self.sin[:t]
            x = self.embed(ids)
            for layer in self.layers:
                x = layer(x, cos, sin)
            return self.norm(x) @ self.embed.weight.T

    return Model()


def hf_state(model) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    return {k: np.ascontiguousarray(v.detach().float().numpy()) for k, v in _named_hf_params(model).items()}


def save(out: Path, model, tok, meta: dict) -> None:  # type: ignore[no-untyped-def]
    from safetensors.numpy import save_file

    out.mkdir(parents=True, exist_ok=True)
    vocab = tok.get_vocab()
    cfg = {
        "model_type": "llama",
        "architectures": ["LlamaForCausalLM"],
        **ARCH,
        "tie_word_embeddings": True,
        "bos_token_id": vocab["<|bos|>"],
        "eos_token_id": vocab["<|eos|>"],
    }
    save_file(hf_state(model), str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "config.json").write_text(json.dumps(cfg, indent=1) + "\n")
    tok.save(str(out / "tokenizer.json"))
    (out / "tokenizer_config.json").write_text(json.dumps({"add_bos_token": False}) + "\n")
    (out / "training.json").write_text(json.dumps(meta, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m zynpu.agent.train", description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=MODEL_DIR)
    ap.add_argument("--seed", type=int, default=0, help="data and init seed (default 0)")
    ap.add_argument("--tasks", type=int, default=12000, help="training tasks (default 12000)")
    ap.add_argument("--epochs", type=float, default=2.4)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--init", type=Path, default=None, help="continue from this model folder")
    args = ap.parse_args(argv)

    import torch

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    t0 = time.time()
    tasks = task_set("train", args.tasks, args.seed)
    examples = [(t.event, run_oracle(t)) for t in tasks]
    if args.init is not None:
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(args.init / "tokenizer.json"))
    else:
        tok = train_tokenizer([render_tiny(e, s) for e, s in examples], ARCH["vocab_size"])
    assert tok.get_vocab_size() <= ARCH["vocab_size"]

    from zynpu.model.tokenizer import TextTokenizer

    prompt = TinyPrompt(TextTokenizer(tok, None, (), False))
    data = [encode_example(prompt, e, s) for e, s in examples]
    longest = max(len(ids) for ids, _ in data)
    print(
        f"{len(data)} examples, {sum(len(i) for i, _ in data)} tokens, longest {longest}, "
        f"vocab {tok.get_vocab_size()} ({time.time() - t0:.1f} s)"
    )
    assert longest <= ARCH["max_position_embeddings"]

    model = build_model(ARCH["vocab_size"])
    if args.init is not None:
        _load_init(model, args.init)
    print(f"{sum(p.numel() for p in model.parameters())} parameters")
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01, betas=(0.9, 0.98))
    steps = int(math.ceil(len(data) / args.batch) * args.epochs)
    warm = max(1, steps // 30)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps)))
    )
    rng = random.Random(args.seed)
    order: list[int] = []
    loss_ema = None
    for step in range(steps):
        if len(order) < args.batch:
            more = list(range(len(data)))
            rng.shuffle(more)
            order += more
        batch = [data[order.pop()] for _ in range(args.batch)]
        t = max(len(ids) for ids, _ in batch)
        ids = torch.zeros((len(batch), t), dtype=torch.long)
        mask = torch.zeros((len(batch), t), dtype=torch.float32)
        for r, (x, m) in enumerate(batch):
            ids[r, : len(x)] = torch.tensor(x)
            mask[r, : len(m)] = torch.tensor(m, dtype=torch.float32)
        logits = model(ids[:, :-1])
        nll = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), reduction="none"
        )
        w = mask[:, 1:].reshape(-1)
        loss = (nll * w).sum() / w.sum()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        loss_ema = loss.item() if loss_ema is None else 0.95 * loss_ema + 0.05 * loss.item()
        if step % 100 == 0 or step == steps - 1:
            print(
                f"step {step}/{steps} loss {loss.item():.4f} (ema {loss_ema:.4f}) {time.time() - t0:.0f} s",
                flush=True,
            )
    elapsed = time.time() - t0
    meta = {
        "command": f"python -m zynpu.agent.train --seed {args.seed} --tasks {args.tasks} "
        f"--epochs {args.epochs} --batch {args.batch} --lr {args.lr}"
        + (f" --init {args.init}" if args.init else ""),
        "seed": args.seed,
        "tasks": args.tasks,
        "steps": steps,
        "final_loss_ema": round(loss_ema or 0.0, 5),
        "seconds": round(elapsed, 1),
        "torch": torch.__version__,
    }
    save(args.out, model, tok, meta)
    _check_against_numpy(args.out, model, data[0][0])
    print(json.dumps(meta))
    return 0


def _load_init(model, path: Path) -> None:  # type: ignore[no-untyped-def]
    """Start from a saved folder's weights (the names `hf_state` writes)."""
    import torch
    from safetensors.numpy import load_file

    saved = load_file(str(path / "model.safetensors"))
    with torch.no_grad():
        for name, param in _named_hf_params(model).items():
            param.copy_(torch.from_numpy(saved[name]))


def _named_hf_params(model) -> dict:  # type: ignore[no-untyped-def]
    out = {"model.embed_tokens.weight": model.embed.weight, "model.norm.weight": model.norm.weight}
    for i, blk in enumerate(model.layers):
        p = f"model.layers.{i}."
        for name in ("input_layernorm", "post_attention_layernorm"):
            out[p + name + ".weight"] = getattr(blk, name).weight
        for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
            out[p + "self_attn." + name + ".weight"] = getattr(blk, name).weight
        for name in ("gate_proj", "up_proj", "down_proj"):
            out[p + "mlp." + name + ".weight"] = getattr(blk, name).weight
    return out


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
