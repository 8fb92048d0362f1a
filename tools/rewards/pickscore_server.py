"""PickScore reward server: CLIP-H fine-tuned on Pick-a-Pic preferences (yuvalkirstain/PickScore_v1).

Score = logit_scale.exp() * cos(image embedding, text embedding), as the PickScore README computes
it (about 20-23 for typical images).

  pip install torch transformers pillow
  python tools/rewards/pickscore_server.py --port 8003 [--token-env NAME]

flowscale: reward_score: remote, reward_url: http://127.0.0.1:8003, reward_model: pickscore
"""

from __future__ import annotations

import os
import sys
from typing import Callable, Dict, List, Tuple

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oip_server as oip  # noqa: E402


class PickScoreScorer(oip.Scorer):
    """Scores from `embed_images(PIL list) -> [n, d]`, `embed_text(str) -> [d]` and the logit scale."""

    name = "pickscore"

    def __init__(self, embed_images: Callable, embed_text: Callable, logit_scale: float):
        self.embed_images = embed_images
        self.embed_text = embed_text
        self.logit_scale = float(logit_scale)

    def score(self, images: np.ndarray, prompts: List[str]) -> Tuple[np.ndarray, Dict]:
        img = np.asarray(self.embed_images(oip.to_pil(images)), dtype=np.float64)
        img = img / np.linalg.norm(img, axis=-1, keepdims=True)
        out = np.zeros(len(prompts))
        for prompt, idx in oip.group_by_prompt(prompts).items():
            txt = np.asarray(self.embed_text(prompt), dtype=np.float64).reshape(-1)
            txt = txt / np.linalg.norm(txt)
            out[idx] = oip.finite(self.logit_scale * (img[idx] @ txt))
        return out, {}


def load(args) -> oip.Scorer:
    import torch
    from transformers import AutoModel, AutoProcessor

    processor = AutoProcessor.from_pretrained(args.processor)
    model = AutoModel.from_pretrained(args.checkpoint).eval().to(args.device)

    @torch.no_grad()
    def embed_images(pil):
        inputs = processor(images=pil, return_tensors="pt").to(args.device)
        return model.get_image_features(**inputs).float().cpu().numpy()

    @torch.no_grad()
    def embed_text(prompt):
        inputs = processor(text=prompt, padding=True, truncation=True, max_length=77, return_tensors="pt").to(args.device)
        return model.get_text_features(**inputs).float().cpu().numpy()[0]

    return PickScoreScorer(embed_images, embed_text, model.logit_scale.exp().item())


def build_parser():
    p = oip.arguments("PickScore reward server (transformers).", "pickscore")
    p.add_argument("--checkpoint", default="yuvalkirstain/PickScore_v1")
    p.add_argument("--processor", default="laion/CLIP-ViT-H-14-laion2B-s32B-b79K")
    return p


if __name__ == "__main__":
    oip.main(load, build_parser())
