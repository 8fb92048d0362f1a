"""VQAScore reward server: P("Yes") from a CLIP-FlanT5 VLM asked whether the image shows the prompt.

The paper's compositional reward (MATH.md section 9), through the t2v_metrics package
(default model clip-flant5-xxl). Served as an Open Inference Protocol model (see oip_server.py).

  pip install t2v-metrics          # or: pip install git+https://github.com/linzhiqiu/t2v_metrics
  python tools/rewards/vqascore_server.py --port 8001 [--vqa-model clip-flant5-xxl] [--token-env NAME]

flowscale: reward_score: remote, reward_url: http://127.0.0.1:8001, reward_model: vqascore
"""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Callable, Dict, List, Tuple

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oip_server as oip  # noqa: E402


class VQAScoreScorer(oip.Scorer):
    """Scores with `model(images=[png paths], texts=[prompt])` -> [n, 1] (t2v_metrics' call).

    Images go to the model as PNG files: released t2v_metrics loads images from paths (the paper's
    copy was patched to take PIL images); a PNG is lossless, so the model sees the same pixels.
    """

    name = "vqascore"

    def __init__(self, model: Callable):
        self.model = model

    def score(self, images: np.ndarray, prompts: List[str]) -> Tuple[np.ndarray, Dict]:
        out = np.zeros(len(prompts))
        with tempfile.TemporaryDirectory(prefix="vqascore-") as d:
            paths = []
            for i, im in enumerate(oip.to_pil(images)):
                p = os.path.join(d, f"{i}.png")
                im.save(p)
                paths.append(p)
            for prompt, idx in oip.group_by_prompt(prompts).items():
                if not prompt.strip():
                    raise oip.RequestError("VQAScore needs a prompt")
                s = self.model(images=[paths[i] for i in idx], texts=[prompt])
                s = s.detach().float().cpu().numpy() if hasattr(s, "detach") else np.asarray(s)
                out[idx] = oip.finite(s.reshape(len(idx), -1)[:, 0])
        return out, {}


def load(args) -> oip.Scorer:
    import t2v_metrics

    return VQAScoreScorer(t2v_metrics.VQAScore(model=args.vqa_model, device=args.device))


def build_parser():
    p = oip.arguments("VQAScore reward server (t2v_metrics).", "vqascore")
    p.add_argument("--vqa-model", default="clip-flant5-xxl", help="t2v_metrics model (default clip-flant5-xxl)")
    return p


if __name__ == "__main__":
    oip.main(load, build_parser())
