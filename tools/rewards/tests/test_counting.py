"""The counting server's prompt parsing and counting, with a stubbed detector and segmenter."""

from __future__ import annotations

import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import counting_server as cs  # noqa: E402
import oip_server as oip  # noqa: E402


class ParseTest(unittest.TestCase):
    def test_the_papers_prompts(self):
        cases = {
            "Six airplanes flying over a desert with seven camels walking below": [("airplanes", 6), ("camels", 7)],
            "three red apples and two bananas on a table": [("red apples", 3), ("bananas", 2)],
            "A photo of 4 cupcakes, 2 candles.": [("cupcakes", 4), ("candles", 2)],
            "one person holding five balloons": [("person", 1), ("balloons", 5)],
            "two sleeping cats next to three dogs": [("sleeping cats", 2), ("dogs", 3)],
            "five people standing in a row": [("people", 5)],
            "a dozen eggs in a basket": [("eggs", 12)],
            "two of the dogs": [],
            "a cat on a mat": [],
            "three cats and three cats": [("cats", 3)],
        }
        for prompt, want in cases.items():
            self.assertEqual(cs.parse_quantities(prompt), want, prompt)

    def test_fixed_objects(self):
        self.assertEqual(cs.parse_objects("airplanes=6, camels=7"), [("airplanes", 6), ("camels", 7)])
        with self.assertRaises(SystemExit):
            cs.parse_objects("airplanes")


def box_mask(box, size=20):
    m = np.zeros((size, size), dtype=bool)
    x0, y0, x1, y1 = box
    m[y0:y1, x0:x1] = True
    return m


class CountTest(unittest.TestCase):
    def segment(self, boxes):
        return np.stack([box_mask([int(v) for v in b]) for b in boxes])

    def test_weak_boxes_and_duplicates_are_not_counted(self):
        names = ["cats", "dogs"]
        boxes = np.array([
            [0, 0, 5, 5],    # cat
            [0, 0, 5, 5],    # the same cat again: not half new
            [10, 10, 15, 15],  # cat
            [6, 0, 9, 3],    # weak cat: 0.1 < 0.6 * 0.9 and < 0.32
            [0, 10, 4, 14],  # dog
            [12, 12, 14, 14],  # a "dog" inside a higher-scoring cat
        ])
        scores = np.array([0.9, 0.8, 0.7, 0.1, 0.5, 0.4])
        labels = ["cats", "cats", "cats", "cats", "dogs", "dogs"]
        self.assertEqual(cs.count_objects(names, boxes, scores, labels, self.segment), [2, 1])

    def test_labels_are_matched_to_the_prompts_objects(self):
        names = ["red apples", "bananas"]
        self.assertEqual(cs.match_label("red apples", names), 0)
        self.assertEqual(cs.match_label("apples", names), 0)
        self.assertEqual(cs.match_label("banana", names), 1)
        self.assertEqual(cs.match_label("table", names), -1)

    def test_nothing_found_counts_zero(self):
        self.assertEqual(cs.count_objects(["cats"], np.zeros((0, 4)), np.zeros(0), [], self.segment), [0])

    def test_the_scorer_rewards_minus_squared_errors_and_reports_counts(self):
        seen = []

        def detect(image, names):
            seen.append((image.size, tuple(names)))
            return np.array([[0, 0, 5, 5], [10, 10, 15, 15]]), np.array([0.9, 0.8]), ["airplanes", "airplanes"]

        scorer = cs.CountingScorer(detect, lambda im, b: self.segment(b))
        x = np.zeros((2, 20, 20, 3), dtype=np.uint8)
        prompt = "Six airplanes flying over a desert with seven camels walking below"
        scores, params = scorer.score(x, [prompt, prompt])
        # airplanes: 2 found of 6, camels: 0 of 7
        self.assertEqual(scores.tolist(), [-(16 + 49), -(16 + 49)])
        self.assertEqual(params["counts"], [[2, 0], [2, 0]])
        self.assertEqual(params["objects"][0], ["airplanes", "camels"])
        self.assertEqual(params["targets"][0], [6, 7])
        self.assertEqual(seen[0], ((20, 20), ("airplanes", "camels")))
        with self.assertRaises(oip.RequestError) as e:
            scorer.score(x[:1], ["a cat on a mat"])
        self.assertIn("names no counted objects", str(e.exception))
        fixed = cs.CountingScorer(detect, lambda im, b: self.segment(b), [("airplanes", 2)])
        self.assertEqual(fixed.score(x[:1], ["a cat on a mat"])[0].tolist(), [0.0])


if __name__ == "__main__":
    unittest.main()
