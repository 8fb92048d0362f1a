"""Counting reward server: the paper's quantity-aware reward, -sum_c (count_c - target_c)^2.

Objects and their target counts come from the prompt ("Six airplanes flying over a desert with
seven camels walking below" -> airplanes: 6, camels: 7), or from --objects for every prompt (as
the reference's class_names / class_gt_counts). Counts come from GroundingDINO boxes refined by
SAM masks, with the reference implementation's selection: boxes and text above 0.2; per class the
boxes scoring above 0.6 x the class's best or above 0.32; masks (smallest first) that are at least
half new within their class; then those not mostly covered by a higher-scoring mask.

The response parameters carry, per image, the objects, their targets and the counts found.

  pip install torch transformers pillow
  python tools/rewards/counting_server.py --port 8005 [--objects "airplanes=6,camels=7"] [--token-env NAME]

flowscale: reward_score: remote, reward_url: http://127.0.0.1:8005, reward_model: counting
"""

from __future__ import annotations

import os
import re
import sys
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oip_server as oip  # noqa: E402

# --- the prompt's quantities -----------------------------------------------------------------

NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
        " fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
}
NUMBER_WORDS["dozen"] = 12

# Words that end an object's name: prepositions, conjunctions, articles, verbs of being.
BOUNDARY = set(
    """and or but with without on in inside under over near next beside behind between among
    around at of to from into onto above below by for while is are was were be being that which
    who whose where the a an this these those their its his her there here as than like along
    across through against during each every""".split()
)

IRREGULAR_PLURALS = set(
    "people men women children mice geese teeth feet sheep fish deer oxen cacti fungi police"
    " cattle".split()
)


def _plural(word: str) -> bool:
    return word in IRREGULAR_PLURALS or (len(word) > 3 and word.endswith("s") and not word.endswith("ss"))


def parse_quantities(prompt: str) -> List[Tuple[str, int]]:
    """The (object, count) pairs a prompt asks for, in order; each object once (its first count).

    A count is a number word (one..twenty, dozen) or digits; the object is the words after it up
    to a boundary word, punctuation, a participle after the noun ("flying"), or the first plural
    noun (at most four words): "three red apples" -> ("red apples", 3).
    """
    tokens = re.findall(r"[a-z][a-z'-]*|\d+|[^\sa-z\d]", prompt.lower())
    found: List[Tuple[str, int]] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        n = int(t) if t.isdigit() else NUMBER_WORDS.get(t)
        if n is None or n < 1 or n > 99:
            i += 1
            continue
        words: List[str] = []
        j = i + 1
        while j < len(tokens) and len(words) < 4:
            w = tokens[j]
            if not w[0].isalpha() or w in BOUNDARY or w in NUMBER_WORDS:
                break
            if words and w.endswith("ing"):
                break
            words.append(w)
            j += 1
            if n > 1 and _plural(w):
                break
        if words:
            name = " ".join(words)
            if name not in (f[0] for f in found):
                found.append((name, n))
        i = max(j, i + 1)
    return found


def parse_objects(spec: str) -> List[Tuple[str, int]]:
    """--objects "airplanes=6,camels=7" as pairs."""
    pairs = []
    for part in spec.split(","):
        if not part.strip():
            continue
        name, sep, count = part.partition("=")
        if not sep or not name.strip() or not count.strip().isdigit():
            raise SystemExit(f"--objects: '{part.strip()}' is not name=count")
        pairs.append((name.strip().lower(), int(count)))
    if not pairs:
        raise SystemExit("--objects names no objects")
    return pairs


# --- counting (the reference implementation's selection) -------------------------------------


def match_label(label: str, names: Sequence[str]) -> int:
    """The class a detector's text label belongs to, or -1: exact, then contained, then most shared words."""
    label = label.strip().lower()
    if label in names:
        return list(names).index(label)
    for k, n in enumerate(names):
        if label and (label in n or n in label):
            return k
    words = set(label.split())
    best, best_k = 0, -1
    for k, n in enumerate(names):
        shared = len(words & set(n.split()))
        if shared > best:
            best, best_k = shared, k
    return best_k


def count_objects(
    names: Sequence[str],
    boxes: np.ndarray,
    scores: np.ndarray,
    labels: Sequence[str],
    segment: Callable[[np.ndarray], np.ndarray],
) -> List[int]:
    """Counts per class from detections (boxes [k, 4] xyxy, scores [k], text labels) and
    `segment(boxes) -> bool masks [k, H, W]`."""
    counts = [0] * len(names)
    cls = np.array([match_label(l, names) for l in labels], dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    keep = []
    for c in sorted(set(cls.tolist()) - {-1}):
        idx = np.nonzero(cls == c)[0]
        top = scores[idx].max()
        keep.extend(idx[(scores[idx] > top * 0.6) | (scores[idx] > 0.32)].tolist())
    if not keep:
        return counts
    keep = np.array(sorted(keep))
    boxes, scores, cls = boxes[keep], scores[keep], cls[keep]
    masks = np.asarray(segment(boxes), dtype=bool)
    sums = masks.reshape(len(keep), -1).sum(axis=1)
    best = np.zeros(masks.shape[1:], dtype=np.float64)
    accepted = []
    for c in sorted(set(cls.tolist())):
        covered = np.zeros(masks.shape[1:], dtype=bool)
        for i in sorted(np.nonzero(cls == c)[0].tolist(), key=lambda i: sums[i]):
            if sums[i] == 0:
                continue
            new = np.logical_and(~covered, masks[i]).sum()
            if new / sums[i] > 0.5:
                accepted.append(i)
                covered |= masks[i]
                best[masks[i]] = np.maximum(best[masks[i]], scores[i])
    for i in accepted:
        if (best[masks[i]] > scores[i]).sum() / sums[i] < 0.5:
            counts[cls[i]] += 1
    return counts


class CountingScorer(oip.Scorer):
    """-sum (count - target)^2 with `detect(PIL image, names) -> (boxes, scores, labels)` and
    `segment(PIL image, boxes) -> bool masks [k, H, W]`."""

    name = "counting"

    def __init__(self, detect: Callable, segment: Callable, objects: Optional[List[Tuple[str, int]]] = None):
        self.detect = detect
        self.segment = segment
        self.objects = objects

    def quantities(self, prompt: str) -> List[Tuple[str, int]]:
        if self.objects:
            return self.objects
        q = parse_quantities(prompt)
        if not q:
            raise oip.RequestError(
                f"the prompt names no counted objects (e.g. 'three apples'): '{prompt}';"
                " start the server with --objects to count fixed ones"
            )
        return q

    def score(self, images: np.ndarray, prompts: List[str]) -> Tuple[np.ndarray, Dict]:
        plans = {p: self.quantities(p) for p in set(prompts)}
        pil = oip.to_pil(images)
        scores, all_counts, all_objects, all_targets = [], [], [], []
        for im, prompt in zip(pil, prompts):
            q = plans[prompt]
            names = [n for n, _ in q]
            targets = [t for _, t in q]
            boxes, det_scores, labels = self.detect(im, names)
            counts = count_objects(names, boxes, det_scores, labels, lambda b, im=im: self.segment(im, b))
            scores.append(-float(sum((c - t) ** 2 for c, t in zip(counts, targets))))
            all_counts.append(counts)
            all_objects.append(names)
            all_targets.append(targets)
        return np.array(scores), {"objects": all_objects, "targets": all_targets, "counts": all_counts}


def load(args) -> oip.Scorer:
    import torch
    from transformers import AutoModelForMaskGeneration, AutoModelForZeroShotObjectDetection, AutoProcessor

    gd_processor = AutoProcessor.from_pretrained(args.detector)
    gd = AutoModelForZeroShotObjectDetection.from_pretrained(args.detector).to(args.device).eval()
    sam_processor = AutoProcessor.from_pretrained(args.segmenter)
    sam = AutoModelForMaskGeneration.from_pretrained(args.segmenter).to(args.device).eval()

    @torch.no_grad()
    def detect(image, names):
        inputs = gd_processor(images=image, text=". ".join(names) + ".", return_tensors="pt").to(args.device)
        outputs = gd(**inputs)
        post = gd_processor.post_process_grounded_object_detection
        size = [image.size[::-1]]
        try:  # transformers >= 4.51 names it threshold
            r = post(outputs, inputs.input_ids, threshold=0.2, text_threshold=0.2, target_sizes=size)[0]
        except TypeError:
            r = post(outputs, inputs.input_ids, box_threshold=0.2, text_threshold=0.2, target_sizes=size)[0]
        labels = r.get("text_labels", r.get("labels"))
        return r["boxes"].cpu().numpy(), r["scores"].cpu().numpy(), [str(l) for l in labels]

    @torch.no_grad()
    def segment(image, boxes):
        inputs = sam_processor(images=image, input_boxes=[boxes.tolist()], return_tensors="pt").to(args.device)
        outputs = sam(**inputs)
        masks = sam_processor.post_process_masks(
            outputs.pred_masks.cpu(), inputs["original_sizes"].cpu(), inputs["reshaped_input_sizes"].cpu()
        )[0]
        return (masks.float().permute(0, 2, 3, 1).mean(dim=-1) > 0).numpy()

    objects = parse_objects(args.objects) if args.objects else None
    return CountingScorer(detect, segment, objects)


def build_parser():
    p = oip.arguments("Counting reward server (GroundingDINO + SAM through transformers).", "counting")
    p.add_argument("--detector", default="IDEA-Research/grounding-dino-base")
    p.add_argument("--segmenter", default="facebook/sam-vit-base")
    p.add_argument("--objects", help='fixed objects for every prompt, e.g. "airplanes=6,camels=7"')
    return p


if __name__ == "__main__":
    oip.main(load, build_parser())
