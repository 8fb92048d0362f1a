"""Every reference server imports without its model's packages, parses its options, and scores
correctly around a stubbed model."""

from __future__ import annotations

import importlib
import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SERVERS = {
    "vqascore_server": "vqascore",
    "counting_server": "counting",
    "imagereward_server": "imagereward",
    "pickscore_server": "pickscore",
    "hpsv2_server": "hpsv2",
}


def images(n):
    return np.random.default_rng(1).integers(0, 256, size=(n, 8, 6, 3), dtype=np.uint8)


class ServersTest(unittest.TestCase):
    def test_each_imports_and_parses_its_defaults(self):
        for module, name in SERVERS.items():
            m = importlib.import_module(module)
            args = m.build_parser().parse_args([])
            self.assertEqual(args.name, name, module)
            self.assertEqual(args.host, "127.0.0.1", module)
            self.assertTrue(callable(m.load), module)

    def test_vqascore_sends_the_pixels_as_png_files_per_prompt(self):
        from PIL import Image

        import vqascore_server as v

        x = images(3)
        calls = []

        def model(images, texts):
            calls.append((list(texts), [np.array(Image.open(p)) for p in images]))
            return np.full((len(images), 1), 0.25 * len(calls))

        scores, _ = v.VQAScoreScorer(model).score(x, ["a", "b", "a"])
        self.assertEqual(scores.tolist(), [0.25, 0.5, 0.25])
        self.assertEqual(calls[0][0], ["a"])
        np.testing.assert_array_equal(calls[0][1][1], x[2])  # lossless
        self.assertEqual(len(calls[1][1]), 1)

    def test_imagereward_scores_per_prompt(self):
        import imagereward_server as ir

        class Model:
            def score(self, prompt, pil):
                return 1.5 if len(pil) == 1 else [float(i) for i in range(len(pil))]

        scores, _ = ir.ImageRewardScorer(Model()).score(images(3), ["p", "p", "q"])
        self.assertEqual(scores.tolist(), [0.0, 1.0, 1.5])

    def test_pickscore_is_scaled_cosine(self):
        import pickscore_server as ps

        def embed_images(pil):
            return np.array([[1.0, 0.0], [1.0, 1.0]])[: len(pil)]

        scores, _ = ps.PickScoreScorer(embed_images, lambda p: np.array([2.0, 0.0]), 100.0).score(images(2), ["p", "p"])
        np.testing.assert_allclose(scores, [100.0, 100.0 / np.sqrt(2)])

    def test_hpsv2_scores_per_prompt(self):
        import hpsv2_server as hp

        scores, _ = hp.HpsV2Scorer(lambda pil, prompt: [len(prompt)] * len(pil)).score(images(2), ["ab", "abc"])
        self.assertEqual(scores.tolist(), [2.0, 3.0])

    def test_a_non_finite_model_score_is_a_failure(self):
        import hpsv2_server as hp

        with self.assertRaises(RuntimeError):
            hp.HpsV2Scorer(lambda pil, prompt: [float("nan")] * len(pil)).score(images(1), ["p"])


if __name__ == "__main__":
    unittest.main()
