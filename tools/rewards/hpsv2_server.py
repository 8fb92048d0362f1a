"""HPS v2 reward server: the Human Preference Score v2 (v2.1 weights by default).

  pip install hpsv2
  python tools/rewards/hpsv2_server.py --port 8004 [--hps-version v2.1] [--token-env NAME]

flowscale: reward_score: remote, reward_url: http://127.0.0.1:8004, reward_model: hpsv2
(the hpsv2 package picks the GPU itself: cuda when available; --device is not used.)
"""

from __future__ import annotations

import os
import sys
from typing import Callable, Dict, List, Tuple

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oip_server as oip  # noqa: E402


class HpsV2Scorer(oip.Scorer):
    """Scores with `score(PIL list, prompt) -> [n]` (hpsv2.score with the version bound)."""

    name = "hpsv2"

    def __init__(self, score: Callable):
        self.score_fn = score

    def score(self, images: np.ndarray, prompts: List[str]) -> Tuple[np.ndarray, Dict]:
        pil = oip.to_pil(images)
        out = np.zeros(len(prompts))
        for prompt, idx in oip.group_by_prompt(prompts).items():
            out[idx] = oip.finite(self.score_fn([pil[i] for i in idx], prompt))
        return out, {}


def load(args) -> oip.Scorer:
    import hpsv2

    return HpsV2Scorer(lambda images, prompt: hpsv2.score(images, prompt, hps_version=args.hps_version))


def build_parser():
    p = oip.arguments("HPS v2 reward server (hpsv2).", "hpsv2")
    p.add_argument("--hps-version", default="v2.1", choices=["v2.0", "v2.1"])
    return p


if __name__ == "__main__":
    oip.main(load, build_parser())
