#!/usr/bin/env python3
"""Writes a FLUX.1-schnell folder of random weights in the layout users download, for
bench/gpu/flux-pipeline-check.sh: flux1-schnell.safetensors (BFL names), ae.safetensors (BFL
names, decoder only), text_encoder/ (CLIP-L, transformers names), text_encoder_2/ (T5-XXL
encoder, sharded with an index), tokenizer/ and tokenizer_2/ (tiny tokenizer files in the real
forms, from the test fixture script), and image_reward.pt (a cheap TorchScript reward on images).

Usage: flux_pipeline_check.py OUT_DIR DEVICE SIZE   (SIZE real: FLUX.1-schnell's sizes; tiny: a
dry run of the flow on a CPU). Weights are made on DEVICE in bf16 (meta-initialised at the real
size, never float32 on the host) and streamed to the files.
"""
import importlib.util
import json
import math
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "flux"))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "flux", "src", "test", "python"))

import ae_arch  # noqa: E402
import clip_arch  # noqa: E402
import flux_check  # noqa: E402
import make_flux_pipeline_fixtures as fixtures  # noqa: E402
import t5_arch  # noqa: E402

# hidden, heads, axes, vec, ctx | T5 d, heads, ff, layers, vocab | CLIP d, heads, inner, layers | AE ch
SIZES = {
    "real": dict(flux=(3072, 24, [16, 56, 56], 768, 4096), t5=(4096, 64, 10240, 24, 32128),
                 clip=(768, 12, 3072, 12), ae=128),
    "tiny": dict(flux=(48, 3, [4, 6, 6], 32, 32), t5=(32, 4, 48, 2, 160),
                 clip=(32, 4, 64, 2), ae=32),
}


def log(*a):
    print("[flux_pipeline_check %s]" % time.strftime("%H:%M:%S"), *a, flush=True)


def on(dev, make):
    """A module made on the meta device and materialised on dev (PyTorch 2.0+), else made there."""
    if hasattr(torch.device, "__enter__"):
        with torch.device("meta"):
            m = make()
        return m.to_empty(device=dev)
    return make().to(dev)


def randomize(model):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                fan_in = p[0].numel()
                p.normal_(0, 0.5 / math.sqrt(fan_in))
            elif "norm" in name or name.endswith(".scale"):
                p.normal_(1, 0.1)
            else:
                p.normal_(0, 0.02)
    return model


class ImageReward(torch.nn.Module):
    """Cheap: mean(0.6 R + 0.3 G - 0.2 B) per image, per the FLUX reward contract: [N, 3, H, W] in
    [0, 1]."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = torch.tensor([0.6, 0.3, -0.2], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return (x * c).sum(dim=1).mean(dim=(1, 2))


def main():
    out, dev, size = sys.argv[1], torch.device(sys.argv[2]), sys.argv[3]
    s = SIZES[size]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    bf16 = torch.bfloat16
    t0 = time.time()

    hidden, heads, axes, vec, ctx = s["flux"]
    model = flux_check.build(dev, hidden, heads, axes, vec, ctx)
    # FLUX.1-schnell: no guidance_in (the eager module always has one)
    weights = {k: v for k, v in model.named_parameters() if not k.startswith("guidance_in.")}
    n = flux_check.write_safetensors(os.path.join(out, "flux1-schnell.safetensors"), weights,
                                     {"format": "pt"})
    log("transformer: %.1f GB in %.0f s" % (n / 1e9, time.time() - t0))
    del model
    if dev.type == "cuda":
        torch.cuda.empty_cache()

    d, th, ff, layers, vocab = s["t5"]
    t5 = randomize(on(dev, lambda: t5_arch.T5Encoder(vocab, d, d, ff, th, layers))).to(bf16)
    t5_dir = os.path.join(out, "text_encoder_2")
    os.makedirs(t5_dir, exist_ok=True)
    names = [k for k, _ in t5.named_parameters()]
    params = dict(t5.named_parameters())
    half = len(names) // 2
    shards = {"model-00001-of-00002.safetensors": names[:half],
              "model-00002-of-00002.safetensors": names[half:]}
    total = 0
    for f, ns in shards.items():
        total += flux_check.write_safetensors(os.path.join(t5_dir, f), {k: params[k] for k in ns},
                                              {"format": "pt"})
    with open(os.path.join(t5_dir, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total},
                   "weight_map": {k: f for f, ns in shards.items() for k in ns}}, f)
    with open(os.path.join(t5_dir, "config.json"), "w") as f:
        json.dump({"d_model": d, "num_heads": th, "d_ff": ff, "num_layers": layers,
                   "relative_attention_max_distance": 128, "vocab_size": vocab}, f)
    log("T5 encoder: %.1f GB, %.0f s in" % (total / 1e9, time.time() - t0))
    del t5, params

    cd, ch, ci, cl = s["clip"]
    vocab_c = fixtures.clip_vocab()
    clip = randomize(on(dev, lambda: clip_arch.CLIPTextModel(len(vocab_c), cd, ci, cl, 77, ch)))
    clip = clip.to(bf16)
    os.makedirs(os.path.join(out, "text_encoder"), exist_ok=True)
    flux_check.write_safetensors(os.path.join(out, "text_encoder", "model.safetensors"),
                                 dict(clip.named_parameters()), {"format": "pt"})
    with open(os.path.join(out, "text_encoder", "config.json"), "w") as f:
        json.dump({"hidden_size": cd, "num_attention_heads": ch, "eos_token_id": 2}, f)
    del clip

    ae = randomize(on(dev, lambda: ae_arch.AutoEncoderDecoder(ch=s["ae"]))).to(bf16)
    flux_check.write_safetensors(os.path.join(out, "ae.safetensors"),
                                 {k: v for k, v in ae.named_parameters()}, {"format": "pt"})
    del ae

    # tokenizers: the fixture script's tiny files, in the forms the real repos ship (the T5
    # vocabulary is tiny, so only the first ids of the embedding are used: fine for timing)
    tok = os.path.join(out, "tokenizer")
    tok2 = os.path.join(out, "tokenizer_2")
    os.makedirs(tok, exist_ok=True)
    os.makedirs(tok2, exist_ok=True)
    with open(os.path.join(tok, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab_c, f, ensure_ascii=False)
    with open(os.path.join(tok, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join("%s %s\n" % m for m in fixtures.CLIP_MERGES))
    with open(os.path.join(tok, "special_tokens_map.json"), "w") as f:
        json.dump({"pad_token": "<|endoftext|>"}, f)
    with open(os.path.join(tok2, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(fixtures.t5_tokenizer_json(), f, ensure_ascii=False)
    torch.jit.script(ImageReward()).save(os.path.join(out, "image_reward.pt"))
    log("folder written in %.0f s" % (time.time() - t0))


if __name__ == "__main__":
    main()
