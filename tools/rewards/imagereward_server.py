"""ImageReward reward server: the ImageReward-v1.0 human-preference model.

  pip install image-reward
  python tools/rewards/imagereward_server.py --port 8002 [--token-env NAME]

flowscale: reward_score: remote, reward_url: http://127.0.0.1:8002, reward_model: imagereward
(the reference mixes it into VQAScore with image_reward_weight; in flowscale list both under
`rewards:` with their weights).
"""

from __future__ import annotations

import os
import sys
from typing import Dict, List, Tuple

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oip_server as oip  # noqa: E402


class ImageRewardScorer(oip.Scorer):
    """Scores with `model.score(prompt, [PIL images])` (ImageReward's API)."""

    name = "imagereward"

    def __init__(self, model):
        self.model = model

    def score(self, images: np.ndarray, prompts: List[str]) -> Tuple[np.ndarray, Dict]:
        pil = oip.to_pil(images)
        out = np.zeros(len(prompts))
        for prompt, idx in oip.group_by_prompt(prompts).items():
            s = self.model.score(prompt, [pil[i] for i in idx])
            out[idx] = oip.finite(s if isinstance(s, (list, tuple, np.ndarray)) else [s])
        return out, {}


def load(args) -> oip.Scorer:
    import ImageReward as RM

    return ImageRewardScorer(RM.load(args.checkpoint, device=args.device))


def build_parser():
    p = oip.arguments("ImageReward reward server.", "imagereward")
    p.add_argument("--checkpoint", default="ImageReward-v1.0", help="ImageReward checkpoint (default ImageReward-v1.0)")
    return p


if __name__ == "__main__":
    oip.main(load, build_parser())
