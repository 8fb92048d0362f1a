"""A reference-server stand-in for tests: the shared protocol layer with a stub model.

Model 'brightness': score = mean of the image's uint8 values / 255 + 0.5 * len(prompt), with the
per-image mean in the response parameters. The Java tests start it to check that flowscale's
client and this protocol layer agree on the wire format.

  python stub_server.py --port 0 [--token-env NAME] [--max-batch N]
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import oip_server as oip  # noqa: E402


class Brightness(oip.Scorer):
    name = "brightness"
    needs_prompt = False

    def __init__(self):
        self.calls = []

    def score(self, images, prompts):
        self.calls.append(len(prompts))
        means = images.reshape(images.shape[0], -1).astype(np.float64).mean(axis=1) / 255.0
        scores = means + 0.5 * np.array([len(p) for p in prompts], dtype=np.float64)
        return scores, {"means": [float(m) for m in means]}


if __name__ == "__main__":
    parser = oip.arguments("stub reward server for tests", "brightness")
    oip.main(lambda args: Brightness(), parser)
