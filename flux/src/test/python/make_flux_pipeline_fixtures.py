#!/usr/bin/python3
"""Makes the FLUX pipeline test fixtures: a tiny random FLUX.1-schnell "model folder" in the layout
users download (every part, tiny widths, tokenizer files in the forms the real repos ship), the
architecture files, and reference outputs from eager PyTorch functions written independently of
tools/flux/*_arch.py.

Usage: make_flux_pipeline_fixtures.py REPO_ROOT OUT_DIR

Writes to OUT_DIR:
  arch/                 tools/flux/make_architectures.py's four files, at the fixture's depths
                        (2 double + 2 single blocks, 2 T5 blocks, 2 CLIP layers)
  dev/flux1-dev.safetensors  FLUX.1-dev's transformer of the same widths (guidance_in), for
                        tests that swap it into a copy of folder/
  folder/               flux1-schnell.safetensors (BF16, hidden 48, T5 width 32, CLIP width 32),
                        ae.safetensors (BFL names, encoder.* and decoder.*, F32, ch 32),
                        text_encoder/ (config.json, model.safetensors: CLIPTextModel names, F32),
                        text_encoder_2/ (config.json, model.safetensors.index.json + 2 BF16 shards),
                        tokenizer/ (vocab.json, merges.txt, tokenizer_config.json,
                        special_tokens_map.json), tokenizer_2/ (tokenizer.json, spiece.model,
                        tokenizer_config.json, special_tokens_map.json)
  image_reward.pt       a differentiable reward per the FLUX contract: images [N, 3, H, W] in
                        [0, 1] -> [N]
  references.safetensors  per prompt K: promptK.t5_ids [256] I64, promptK.clip_ids [77] I64,
                        promptK.t5 [256, 32] F64, promptK.clip_pooled [32] F64; metadata
                        "promptK" = the prompt; decode.z [2, 16, 8, 6] F32 and decode.image
                        [2, 64, 48, 3] F64 (decoder output in [-1, 1]); decode.cotangent and
                        decode.vjp (the decoder's VJP); decode.reward [2] and
                        decode.reward_grad [2, 16, 8, 6] F64: image_reward.pt's scores of the
                        decoded decode.z and their gradient with respect to z (eager, float64)
  manifest.txt          written last: the set is complete

Tokenization reference: CLIP's byte-level BPE as openai's simple_tokenizer and transformers'
CLIPTokenizerFast write it (whitespace collapsed, lower-cased, the pre-tokenizer pattern
<|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+,
bytes to unicode, merges by rank, </w> on each word's last symbol); T5's SentencePiece unigram
as Hugging Face tokenizers runs it (NFKC, whitespace split, "\u2581" before each word, Viterbi over
the pieces' scores, unknown characters scored min - 10 and fused, </s> appended). Both are
checked against hand-worked examples below before anything is written.
"""
import hashlib
import importlib.util
import json
import math
import os
import struct
import sys
import unicodedata

import torch
import torch.nn.functional as F

T5_D, T5_HEADS, T5_DKV, T5_FF, T5_LAYERS, T5_BUCKETS, T5_MAXDIST = 32, 4, 8, 48, 2, 32, 20
CLIP_D, CLIP_HEADS, CLIP_INTER, CLIP_LAYERS, CLIP_POS = 32, 4, 64, 2, 77
AE_CH, AE_MULT, AE_Z = 32, [1, 2, 4, 4], 16
T5_LEN, CLIP_LEN = 256, 77

PROMPTS = [
    "a cat",
    "Two red circles and one blue square.",
    "  A photo   of a CAT!  ",
    "it's 2 dogs, xyz QZ",
    "naïve café",
    "",
    " ".join(["a cat"] * 45),  # longer than 77 CLIP tokens and than 256 T5 tokens? (90 words)
]

# ---- safetensors writing ---------------------------------------------------------------------

CODES = {torch.float32: ("F32", "f"), torch.float64: ("F64", "d"), torch.int64: ("I64", "q"),
         torch.int32: ("I32", "i")}


def save_safetensors(path, tensors, metadata=None):
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs, offset = [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        if t.dtype == torch.bfloat16:
            code, blob = "BF16", struct.pack("<%dh" % t.numel(), *t.flatten().view(torch.int16).tolist())
        elif t.dtype == torch.float16:
            code, blob = "F16", struct.pack("<%dh" % t.numel(), *t.flatten().view(torch.int16).tolist())
        else:
            code, fmt = CODES[t.dtype]
            blob = struct.pack("<%d%s" % (t.numel(), fmt), *t.flatten().tolist())
        header[name] = {"dtype": code, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(path + ".tmp", path)


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=2)


# ---- CLIP's byte-level BPE (the reference) ---------------------------------------------------

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(
        range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


BYTE_ENC = bytes_to_unicode()

# Hand-made merges, in rank order (as merges.txt lists them after its "#version" line).
CLIP_MERGES = [
    ("a", "t</w>"), ("c", "at</w>"), ("r", "e"), ("re", "d</w>"), ("t", "w"), ("tw", "o</w>"),
    ("o", "f</w>"), ("c", "i"), ("ci", "r"), ("cir", "c"), ("circ", "l"), ("circl", "e"),
    ("circle", "s</w>"), ("a", "n"), ("an", "d</w>"), ("o", "n"), ("on", "e</w>"), ("b", "l"),
    ("bl", "u"), ("blu", "e</w>"), ("p", "h"), ("ph", "o"), ("pho", "t"), ("phot", "o</w>"),
    ("d", "o"), ("do", "g</w>"), ("s", "q"), ("sq", "u"), ("squ", "a"), ("squa", "r"),
    ("squar", "e</w>"), ("i", "t</w>"), ("e", "r"), ("n", "a"),
]


def clip_vocab():
    base = [BYTE_ENC[b] for b in sorted(BYTE_ENC)]
    vocab = base + [c + "</w>" for c in base]
    for a, b in CLIP_MERGES:
        vocab.append(a + b)
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    assert len(set(vocab)) == len(vocab)
    return {t: i for i, t in enumerate(vocab)}


def is_letter(c):
    return unicodedata.category(c).startswith("L")


def is_number(c):
    return unicodedata.category(c).startswith("N")


def clip_pretokenize(text):
    text = unicodedata.normalize("NFC", text)
    text = " ".join(text.split()).lower()
    out, i = [], 0
    specials = ["<|startoftext|>", "<|endoftext|>"]
    contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"]
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
            continue
        m = next((s for s in specials + contractions if text.startswith(s, i)), None)
        if m is not None:
            out.append(m)
            i += len(m)
        elif is_letter(c):
            j = i
            while j < len(text) and is_letter(text[j]):
                j += 1
            out.append(text[i:j])
            i = j
        elif is_number(c):
            out.append(c)
            i += 1
        else:
            j = i
            while j < len(text) and not (text[j].isspace() or is_letter(text[j]) or is_number(text[j])):
                j += 1
            out.append(text[i:j])
            i = j
    return out


def clip_bpe(token, ranks):
    word = [BYTE_ENC[b] for b in token.encode("utf-8")]
    word[-1] = word[-1] + "</w>"
    while len(word) > 1:
        pairs = [(ranks.get((word[k], word[k + 1]), math.inf), k) for k in range(len(word) - 1)]
        rank, _ = min(pairs)
        if rank == math.inf:
            break
        a, b = CLIP_MERGES[rank]
        merged, k = [], 0
        while k < len(word):
            if k < len(word) - 1 and word[k] == a and word[k + 1] == b:
                merged.append(a + b)
                k += 2
            else:
                merged.append(word[k])
                k += 1
        word = merged
    return word


def clip_tokens(text):
    ranks = {m: r for r, m in enumerate(CLIP_MERGES)}
    toks = []
    for w in clip_pretokenize(text):
        toks += clip_bpe(w, ranks)
    return toks


def clip_ids(text, vocab):
    ids = [vocab[t] for t in clip_tokens(text)][: CLIP_LEN - 2]
    bos, eos = vocab["<|startoftext|>"], vocab["<|endoftext|>"]
    ids = [bos] + ids + [eos]
    return ids + [eos] * (CLIP_LEN - len(ids))  # pad_token is <|endoftext|>


# ---- T5's unigram (the reference) ------------------------------------------------------------

T5_PIECES = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.5)]
for ch, sc in zip("abcdefghijklmnopqrstuvwxyz", range(26)):
    T5_PIECES.append((ch, -6.0 - 0.05 * sc))
for p, sc in [("A", -7.1), ("C", -7.3), ("T", -7.4), (".", -5.1), (",", -5.2), ("!", -5.6),
              ("'", -5.7), ("\u2581a", -3.1), ("\u2581cat", -4.2), ("\u2581two", -4.6),
              ("\u2581red", -4.7), ("\u2581circle", -5.3), ("s", -4.05), ("\u2581and", -3.9),
              ("\u2581one", -4.4), ("\u2581blue", -4.9), ("\u2581square", -5.9),
              ("\u2581photo", -5.5), ("\u2581of", -3.6), ("\u2581the", -3.3), ("\u2581dog", -5.0),
              ("\u2581c", -5.25), ("\u2581t", -5.35), ("\u2581A", -5.45), ("ci", -6.6),
              ("rc", -6.7), ("le", -6.8), ("\u2581it", -4.95), ("é", -6.9), ("ï", -7.0),
              ("\u2581na", -6.15), ("ve", -6.25), ("fé", -7.2), ("\u2581Two", -6.05)]:
    T5_PIECES.append((p, sc))


def t5_encode_word(word, pieces, unk_id, min_score):
    n = len(word)
    best = [(-math.inf, None)] * (n + 1)
    best[0] = (0.0, None)
    for i in range(n):
        if best[i][0] == -math.inf:
            continue
        single = False
        for j in range(i + 1, n + 1):
            p = word[i:j]
            if p in pieces:
                pid, sc = pieces[p]
                single |= j == i + 1
                if best[i][0] + sc > best[j][0]:
                    best[j] = (best[i][0] + sc, (i, pid))
        if not single and best[i][0] + min_score - 10.0 > best[i + 1][0]:
            best[i + 1] = (best[i][0] + min_score - 10.0, (i, unk_id))
    ids, j = [], n
    while j > 0:
        i, pid = best[j][1]
        ids.append(pid)
        j = i
    ids.reverse()
    fused = []
    for t in ids:  # consecutive unknowns are fused into one
        if not (t == unk_id and fused and fused[-1] == unk_id):
            fused.append(t)
    return fused


def t5_ids(text):
    pieces = {p: (i, s) for i, (p, s) in enumerate(T5_PIECES)}
    min_score = min(s for _, s in T5_PIECES)
    text = unicodedata.normalize("NFKC", text)
    ids = []
    for w in text.split():
        ids += t5_encode_word("\u2581" + w, pieces, 2, min_score)
    ids = ids[: T5_LEN - 1] + [1]
    return ids + [0] * (T5_LEN - len(ids))


def t5_pieces(text):
    inv = [p for p, _ in T5_PIECES]
    return [inv[i] for i in t5_ids(text) if i != 0]


def check_tokenizers(vocab):
    """The references against hand-worked examples."""
    assert clip_tokens("a cat") == ["a</w>", "cat</w>"], clip_tokens("a cat")
    assert clip_tokens("Two red circles") == ["two</w>", "red</w>", "circles</w>"]
    assert clip_tokens("  A   CAT! ") == ["a</w>", "cat</w>", "!</w>"]
    # 's is its own pre-token; 2 a single number; "dogs" merges only "d o"; xyz stays bytes
    assert clip_tokens("it's 2 dogs, xyz") == [
        "it</w>", "'", "s</w>", "2</w>", "do", "g", "s</w>", ",</w>", "x", "y", "z</w>"]
    # non-ASCII: UTF-8 bytes through bytes_to_unicode (é = C3 A9 -> "Ã" "©")
    assert clip_tokens("café") == ["c", "a", "f", "Ã", "©</w>"], clip_tokens("café")
    ids = clip_ids("a cat", vocab)
    assert ids[:4] == [vocab["<|startoftext|>"], vocab["a</w>"], vocab["cat</w>"],
                       vocab["<|endoftext|>"]] and len(ids) == 77
    assert t5_pieces("a cat") == ["\u2581a", "\u2581cat", "</s>"]
    assert t5_pieces("  a   cat  ") == ["\u2581a", "\u2581cat", "</s>"]
    # "circles" = ▁circle + s beats ▁c i r c l e s; "CAT" has no piece: C, A, T
    assert t5_pieces("circles CAT") == ["\u2581circle", "s", "\u2581", "C", "A", "T", "</s>"]
    # unknown characters are fused into one <unk>: "QZ" -> ▁ + <unk>; "2" -> ▁ + <unk>
    assert t5_pieces("QZ") == ["\u2581", "<unk>", "</s>"]
    assert t5_pieces("it's 2") == ["\u2581it", "'", "s", "\u2581", "<unk>", "</s>"]
    assert t5_pieces("") == ["</s>"]


# ---- weights ---------------------------------------------------------------------------------

def randn(gen, *shape, scale=1.0):
    return torch.randn(*shape, generator=gen, dtype=torch.float64) * scale


def t5_weights(gen, vocab):
    sd = {"shared.weight": randn(gen, vocab, T5_D)}
    inner = T5_HEADS * T5_DKV
    for i in range(T5_LAYERS):
        p = "encoder.block.%d.layer." % i
        for n in "qkvo":
            shape = (inner, T5_D) if n != "o" else (T5_D, inner)
            sd[p + "0.SelfAttention.%s.weight" % n] = randn(gen, *shape, scale=shape[1] ** -0.5)
        if i == 0:
            sd[p + "0.SelfAttention.relative_attention_bias.weight"] = randn(gen, T5_BUCKETS, T5_HEADS)
        sd[p + "0.layer_norm.weight"] = 1 + 0.1 * randn(gen, T5_D)
        sd[p + "1.DenseReluDense.wi_0.weight"] = randn(gen, T5_FF, T5_D, scale=T5_D ** -0.5)
        sd[p + "1.DenseReluDense.wi_1.weight"] = randn(gen, T5_FF, T5_D, scale=T5_D ** -0.5)
        sd[p + "1.DenseReluDense.wo.weight"] = randn(gen, T5_D, T5_FF, scale=T5_FF ** -0.5)
        sd[p + "1.layer_norm.weight"] = 1 + 0.1 * randn(gen, T5_D)
    sd["encoder.final_layer_norm.weight"] = 1 + 0.1 * randn(gen, T5_D)
    return {k: v.to(torch.bfloat16) for k, v in sd.items()}  # as text_encoder_2 ships


def clip_weights(gen, vocab):
    sd = {"text_model.embeddings.token_embedding.weight": randn(gen, vocab, CLIP_D),
          "text_model.embeddings.position_embedding.weight": randn(gen, CLIP_POS, CLIP_D, scale=0.1)}
    for i in range(CLIP_LAYERS):
        p = "text_model.encoder.layers.%d." % i
        for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
            sd[p + "self_attn.%s.weight" % n] = randn(gen, CLIP_D, CLIP_D, scale=CLIP_D ** -0.5)
            sd[p + "self_attn.%s.bias" % n] = randn(gen, CLIP_D, scale=0.02)
        for n in ("layer_norm1", "layer_norm2"):
            sd[p + n + ".weight"] = 1 + 0.1 * randn(gen, CLIP_D)
            sd[p + n + ".bias"] = 0.1 * randn(gen, CLIP_D)
        sd[p + "mlp.fc1.weight"] = randn(gen, CLIP_INTER, CLIP_D, scale=CLIP_D ** -0.5)
        sd[p + "mlp.fc1.bias"] = randn(gen, CLIP_INTER, scale=0.02)
        sd[p + "mlp.fc2.weight"] = randn(gen, CLIP_D, CLIP_INTER, scale=CLIP_INTER ** -0.5)
        sd[p + "mlp.fc2.bias"] = randn(gen, CLIP_D, scale=0.02)
    sd["text_model.final_layer_norm.weight"] = 1 + 0.1 * randn(gen, CLIP_D)
    sd["text_model.final_layer_norm.bias"] = 0.1 * randn(gen, CLIP_D)
    # older transformers saved the position ids buffer; flowscale ignores it
    sd["text_model.embeddings.position_ids"] = torch.arange(CLIP_POS)[None]
    return {k: (v.float() if v.is_floating_point() else v) for k, v in sd.items()}


def ae_weights(gen):
    sd = {}

    def conv(name, cout, cin, k):
        sd[name + ".weight"] = randn(gen, cout, cin, k, k, scale=(cin * k * k) ** -0.5)
        sd[name + ".bias"] = randn(gen, cout, scale=0.02)

    def gn(name, c):
        sd[name + ".weight"] = 1 + 0.1 * randn(gen, c)
        sd[name + ".bias"] = 0.1 * randn(gen, c)

    def res(name, cin, cout):
        gn(name + ".norm1", cin)
        conv(name + ".conv1", cout, cin, 3)
        gn(name + ".norm2", cout)
        conv(name + ".conv2", cout, cout, 3)
        if cin != cout:
            conv(name + ".nin_shortcut", cout, cin, 1)

    block_in = AE_CH * AE_MULT[-1]
    conv("decoder.conv_in", block_in, AE_Z, 3)
    res("decoder.mid.block_1", block_in, block_in)
    gn("decoder.mid.attn_1.norm", block_in)
    for n in ("q", "k", "v", "proj_out"):
        conv("decoder.mid.attn_1." + n, block_in, block_in, 1)
    res("decoder.mid.block_2", block_in, block_in)
    for i in reversed(range(len(AE_MULT))):
        out = AE_CH * AE_MULT[i]
        for b in range(3):
            res("decoder.up.%d.block.%d" % (i, b), block_in if b == 0 else out, out)
            block_in = out
        if i != 0:
            conv("decoder.up.%d.upsample.conv" % i, out, out, 3)
    gn("decoder.norm_out", block_in)
    conv("decoder.conv_out", 3, block_in, 3)
    # a few of the encoder's tensors, as ae.safetensors holds them (flowscale ignores them)
    conv("encoder.conv_in", AE_CH, 3, 3)
    conv("encoder.conv_out", 2 * AE_Z, AE_CH * AE_MULT[-1], 3)
    return {k: v.float() for k, v in sd.items()}


# ---- the references: plain functions over the state dicts, float64 -----------------------------

def t5_reference(sd, ids):
    w = {k: v.double() for k, v in sd.items()}
    x = w["shared.weight"][ids]
    length = ids.shape[0]
    pos = torch.arange(length)
    rel = pos[None, :] - pos[:, None]
    half = T5_BUCKETS // 2
    bucket = (rel > 0).long() * half
    n = rel.abs()
    max_exact = half // 2
    large = max_exact + (torch.log(n.double().clamp(min=1) / max_exact) / math.log(T5_MAXDIST / max_exact)
                         * (half - max_exact)).long()
    large = large.clamp(max=half - 1)
    bucket = bucket + torch.where(n < max_exact, n, large)
    bias = w["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"][bucket]
    bias = bias.permute(2, 0, 1)  # [heads, T, T]

    def rms(x, name):
        return w[name] * (x / torch.sqrt((x * x).mean(-1, keepdim=True) + 1e-6))

    for i in range(T5_LAYERS):
        p = "encoder.block.%d.layer." % i
        h = rms(x, p + "0.layer_norm.weight")
        q, k, v = (F.linear(h, w[p + "0.SelfAttention.%s.weight" % c]).view(length, T5_HEADS, T5_DKV)
                   .transpose(0, 1) for c in "qkv")
        a = torch.softmax(q @ k.transpose(1, 2) + bias, dim=-1) @ v
        x = x + F.linear(a.transpose(0, 1).reshape(length, -1), w[p + "0.SelfAttention.o.weight"])
        h = rms(x, p + "1.layer_norm.weight")
        g = F.linear(h, w[p + "1.DenseReluDense.wi_0.weight"])
        g = 0.5 * g * (1 + torch.tanh(math.sqrt(2 / math.pi) * (g + 0.044715 * g ** 3)))
        x = x + F.linear(g * F.linear(h, w[p + "1.DenseReluDense.wi_1.weight"]),
                         w[p + "1.DenseReluDense.wo.weight"])
    return rms(x, "encoder.final_layer_norm.weight")


def clip_reference(sd, ids, eos_id):
    w = {k: v.double() for k, v in sd.items() if v.is_floating_point()}
    length = ids.shape[0]
    x = w["text_model.embeddings.token_embedding.weight"][ids] + w[
        "text_model.embeddings.position_embedding.weight"][:length]
    causal = torch.triu(torch.full((length, length), -math.inf, dtype=torch.float64), 1)
    hd = CLIP_D // CLIP_HEADS
    for i in range(CLIP_LAYERS):
        p = "text_model.encoder.layers.%d." % i
        h = F.layer_norm(x, (CLIP_D,), w[p + "layer_norm1.weight"], w[p + "layer_norm1.bias"], 1e-5)
        q, k, v = (F.linear(h, w[p + "self_attn.%s_proj.weight" % c], w[p + "self_attn.%s_proj.bias" % c])
                   .view(length, CLIP_HEADS, hd).transpose(0, 1) for c in "qkv")
        a = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(hd) + causal, dim=-1) @ v
        x = x + F.linear(a.transpose(0, 1).reshape(length, CLIP_D), w[p + "self_attn.out_proj.weight"],
                         w[p + "self_attn.out_proj.bias"])
        h = F.layer_norm(x, (CLIP_D,), w[p + "layer_norm2.weight"], w[p + "layer_norm2.bias"], 1e-5)
        h = F.linear(h, w[p + "mlp.fc1.weight"], w[p + "mlp.fc1.bias"])
        h = h * torch.sigmoid(1.702 * h)
        x = x + F.linear(h, w[p + "mlp.fc2.weight"], w[p + "mlp.fc2.bias"])
    x = F.layer_norm(x, (CLIP_D,), w["text_model.final_layer_norm.weight"],
                     w["text_model.final_layer_norm.bias"], 1e-5)
    return x[(ids == eos_id).nonzero()[0, 0]]  # the first end-of-text token


def ae_reference(sd, z):
    w = {k: v.double() for k, v in sd.items()}

    def gn(x, name):
        return F.group_norm(x, 32, w[name + ".weight"], w[name + ".bias"], 1e-6)

    def conv(x, name, pad):
        return F.conv2d(x, w[name + ".weight"], w[name + ".bias"], padding=pad)

    def swish(x):
        return x * torch.sigmoid(x)

    def res(x, name):
        h = conv(swish(gn(x, name + ".norm1")), name + ".conv1", 1)
        h = conv(swish(gn(h, name + ".norm2")), name + ".conv2", 1)
        if name + ".nin_shortcut.weight" in w:
            x = conv(x, name + ".nin_shortcut", 0)
        return x + h

    def attn(x, name):
        h = gn(x, name + ".norm")
        b, c, hh, ww = x.shape
        q, k, v = (conv(h, name + "." + n, 0).reshape(b, c, hh * ww).transpose(1, 2) for n in "qkv")
        a = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(c), dim=-1) @ v
        return x + conv(a.transpose(1, 2).reshape(b, c, hh, ww), name + ".proj_out", 0)

    h = z.double() / 0.3611 + 0.1159
    h = conv(h, "decoder.conv_in", 1)
    h = res(attn(res(h, "decoder.mid.block_1"), "decoder.mid.attn_1"), "decoder.mid.block_2")
    for i in reversed(range(len(AE_MULT))):
        for b in range(3):
            h = res(h, "decoder.up.%d.block.%d" % (i, b))
        if i != 0:
            h = conv(F.interpolate(h, scale_factor=2.0, mode="nearest"), "decoder.up.%d.upsample.conv" % i, 1)
    h = conv(swish(gn(h, "decoder.norm_out")), "decoder.conv_out", 1)
    return h.clamp(-1, 1).permute(0, 2, 3, 1)


class ImageReward(torch.nn.Module):
    """A reward per the FLUX contract: images [N, 3, H, W] in [0, 1] -> [N]. Prefers warm, bright
    images lower down: mean over pixels of (0.6 R + 0.3 G - 0.2 B) * (1 + y / H) + 0.5 R^2, so a
    channel swap, a transposed image or [-1, 1] values instead of [0, 1] each change the score."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = torch.tensor([0.6, 0.3, -0.2], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        h = x.shape[2]
        ramp = 1.0 + torch.arange(h, dtype=x.dtype, device=x.device).view(1, h, 1) / h
        warm = (x * c).sum(dim=1) * ramp
        return (warm + 0.5 * x[:, 0] ** 2).mean(dim=(1, 2))


def image_reward_reference(img):
    """ImageReward's score, written out on the decoder's output [N, H, W, 3] in [-1, 1] (float64):
    the contract's input is (img.permute(0, 3, 1, 2) + 1) / 2."""
    x = (img.permute(0, 3, 1, 2) + 1) / 2
    n, _, h, w = x.shape
    total = torch.zeros(n, dtype=img.dtype)
    for y in range(h):
        weight = 1.0 + y / h
        row = x[:, :, y, :]
        total = total + ((0.6 * row[:, 0] + 0.3 * row[:, 1] - 0.2 * row[:, 2]) * weight
                         + 0.5 * row[:, 0] * row[:, 0]).sum(dim=1)
    return total / (h * w)


# ---- the folder ------------------------------------------------------------------------------

def spiece_model(pieces):
    """A SentencePiece ModelProto (protobuf wire format) with these pieces: the file the real
    repos ship beside tokenizer.json (flowscale reads tokenizer.json)."""

    def varint(v):
        out = b""
        while True:
            b = v & 0x7F
            v >>= 7
            if v:
                out += bytes([b | 0x80])
            else:
                return out + bytes([b])

    def field(num, wire, payload):
        return varint(num << 3 | wire) + payload

    def string(num, s):
        b = s.encode("utf-8")
        return field(num, 2, varint(len(b)) + b)

    out = b""
    for i, (p, s) in enumerate(pieces):
        kind = 3 if i < 2 else 2 if i == 2 else 1  # CONTROL, UNKNOWN, NORMAL
        msg = string(1, p) + field(2, 5, struct.pack("<f", s)) + field(3, 0, varint(kind))
        out += field(1, 2, varint(len(msg)) + msg)
    trainer = field(3, 0, varint(1))  # model_type UNIGRAM
    out += field(2, 2, varint(len(trainer)) + trainer)
    norm = string(1, "nmt_nfkc") + field(3, 0, varint(1)) + field(4, 0, varint(1))
    out += field(3, 2, varint(len(norm)) + norm)
    return out


def t5_tokenizer_json():
    special = [{"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
                "normalized": False, "special": True} for i, c in enumerate(["<pad>", "</s>", "<unk>"])]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": special,
        # the real file's normalizer is sentencepiece's precompiled nmt_nfkc charsmap
        "normalizer": {"type": "NFKC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "WhitespaceSplit"},
            {"type": "Metaspace", "replacement": "\u2581", "add_prefix_space": True}]},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "</s>", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 0}},
                     {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "special_tokens": {"</s>": {"id": "</s>", "ids": [1], "tokens": ["</s>"]}}},
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "add_prefix_space": True},
        "model": {"type": "Unigram", "unk_id": 2, "vocab": [[p, s] for p, s in T5_PIECES]},
    }


def write_folder(folder, arch_root, gen):
    os.makedirs(folder, exist_ok=True)
    for d in ("text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2"):
        os.makedirs(os.path.join(folder, d), exist_ok=True)

    # the transformer: the issue-10 fixture's layout at 2 + 2 blocks, fed by these encoders
    spec = importlib.util.spec_from_file_location(
        "mff", os.path.join(os.path.dirname(os.path.abspath(__file__)), "make_flux_fixtures.py"))
    mff = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mff)
    mff.CTX, mff.VEC, mff.DOUBLE, mff.SINGLE = T5_D, CLIP_D, 2, 2
    tr = {k: v.to(torch.bfloat16) for k, v in mff.random_checkpoint(False, gen).items()}
    save_safetensors(os.path.join(folder, "flux1-schnell.safetensors"), tr, {"format": "pt"})
    # FLUX.1-dev's transformer (guidance_in) of the same widths, outside the folder: tests swap it
    # in (a dev folder pads T5 to 512). Its own generator keeps every other tensor as it was.
    dev_gen = torch.Generator().manual_seed(20261202)
    dev = {k: v.to(torch.bfloat16) for k, v in mff.random_checkpoint(True, dev_gen).items()}
    os.makedirs(os.path.join(os.path.dirname(folder), "dev"), exist_ok=True)
    save_safetensors(os.path.join(os.path.dirname(folder), "dev", "flux1-dev.safetensors"), dev,
                     {"format": "pt"})

    ae = ae_weights(gen)
    save_safetensors(os.path.join(folder, "ae.safetensors"), ae)

    vocab = clip_vocab()
    clip = clip_weights(gen, len(vocab))
    save_safetensors(os.path.join(folder, "text_encoder", "model.safetensors"), clip, {"format": "pt"})
    write_json(os.path.join(folder, "text_encoder", "config.json"), {
        "architectures": ["CLIPTextModel"], "model_type": "clip_text_model", "hidden_size": CLIP_D,
        "intermediate_size": CLIP_INTER, "num_attention_heads": CLIP_HEADS,
        "num_hidden_layers": CLIP_LAYERS, "max_position_embeddings": CLIP_POS,
        "vocab_size": len(vocab), "hidden_act": "quick_gelu", "layer_norm_eps": 1e-05,
        "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1, "torch_dtype": "float32"})

    t5 = t5_weights(gen, len(T5_PIECES) + 4)  # the real embedding is larger than the vocab too
    names = list(t5)
    half = len(names) // 2
    shards = {"model-00001-of-00002.safetensors": names[:half],
              "model-00002-of-00002.safetensors": names[half:]}
    for f, ns in shards.items():
        save_safetensors(os.path.join(folder, "text_encoder_2", f), {n: t5[n] for n in ns},
                         {"format": "pt"})
    write_json(os.path.join(folder, "text_encoder_2", "model.safetensors.index.json"), {
        "metadata": {"total_size": sum(2 * v.numel() for v in t5.values())},
        "weight_map": {n: f for f, ns in shards.items() for n in ns}})
    write_json(os.path.join(folder, "text_encoder_2", "config.json"), {
        "architectures": ["T5EncoderModel"], "model_type": "t5", "d_model": T5_D, "d_kv": T5_DKV,
        "d_ff": T5_FF, "num_heads": T5_HEADS, "num_layers": T5_LAYERS,
        "relative_attention_num_buckets": T5_BUCKETS,
        "relative_attention_max_distance": T5_MAXDIST, "feed_forward_proj": "gated-gelu",
        "layer_norm_epsilon": 1e-06, "vocab_size": len(T5_PIECES) + 4, "torch_dtype": "bfloat16"})

    tok = os.path.join(folder, "tokenizer")
    write_json(os.path.join(tok, "vocab.json"), vocab)
    with open(os.path.join(tok, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in CLIP_MERGES:
            f.write("%s %s\n" % (a, b))
    eot = {"content": "<|endoftext|>", "lstrip": False, "normalized": True, "rstrip": False,
           "single_word": False}
    write_json(os.path.join(tok, "special_tokens_map.json"), {
        "bos_token": dict(eot, content="<|startoftext|>"), "eos_token": eot,
        "pad_token": "<|endoftext|>", "unk_token": eot})
    write_json(os.path.join(tok, "tokenizer_config.json"), {
        "add_prefix_space": False, "do_lower_case": True, "errors": "replace",
        "model_max_length": 77, "tokenizer_class": "CLIPTokenizer",
        "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>", "unk_token": "<|endoftext|>"})

    tok2 = os.path.join(folder, "tokenizer_2")
    write_json(os.path.join(tok2, "tokenizer.json"), t5_tokenizer_json())
    with open(os.path.join(tok2, "spiece.model"), "wb") as f:
        f.write(spiece_model(T5_PIECES))
    write_json(os.path.join(tok2, "special_tokens_map.json"), {
        "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"})
    write_json(os.path.join(tok2, "tokenizer_config.json"), {
        "tokenizer_class": "T5Tokenizer", "model_max_length": 512, "eos_token": "</s>",
        "pad_token": "<pad>", "unk_token": "<unk>", "extra_ids": 0})
    return tr, ae, clip, t5, vocab


def main():
    root, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(20261201)
    gen = torch.Generator().manual_seed(20261201)
    spec = importlib.util.spec_from_file_location(
        "make_architectures", os.path.join(root, "tools", "flux", "make_architectures.py"))
    ma = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ma)
    ma.main([os.path.join(out, "arch"), "--double-blocks", "2", "--single-blocks", "2",
             "--t5-layers", str(T5_LAYERS), "--clip-layers", str(CLIP_LAYERS)])
    torch.jit.script(ImageReward()).save(os.path.join(out, "image_reward.pt"))

    vocab = clip_vocab()
    check_tokenizers(vocab)
    _, ae, clip, t5, vocab = write_folder(os.path.join(out, "folder"), root, gen)

    refs, meta = {}, {}
    eos = vocab["<|endoftext|>"]
    for k, p in enumerate(PROMPTS):
        tids = torch.tensor(t5_ids(p))
        cids = torch.tensor(clip_ids(p, vocab))
        refs["prompt%d.t5_ids" % k] = tids
        refs["prompt%d.clip_ids" % k] = cids
        refs["prompt%d.t5" % k] = t5_reference(t5, tids)
        refs["prompt%d.clip_pooled" % k] = clip_reference(clip, cids, eos)
        meta["prompt%d" % k] = p
    z = torch.randn(2, AE_Z, 8, 6, generator=gen).float()
    refs["decode.z"] = z
    zg = z.double().clone().requires_grad_(True)
    img = ae_reference(ae, zg)
    refs["decode.image"] = img.detach()
    cot = torch.randn(img.shape, generator=gen, dtype=torch.float64).float().double()
    (vjp,) = torch.autograd.grad(img, zg, cot)
    refs["decode.cotangent"] = cot
    refs["decode.vjp"] = vjp
    # the reward contract on decoded images: scores and their gradient through the decoder
    zr = z.double().clone().requires_grad_(True)
    scores = image_reward_reference(ae_reference(ae, zr))
    (reward_grad,) = torch.autograd.grad(scores.sum(), zr)
    refs["decode.reward"] = scores.detach()
    refs["decode.reward_grad"] = reward_grad
    save_safetensors(os.path.join(out, "references.safetensors"), refs, meta)
    with open(os.path.join(out, "manifest.txt"), "w") as f:
        f.write("torch_version %s\nprompts %d\n" % (torch.__version__, len(PROMPTS)))
    print("flowscale FLUX pipeline fixtures (torch %s) written to %s" % (torch.__version__, out))


if __name__ == "__main__":
    main()
