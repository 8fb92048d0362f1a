#!/usr/bin/env python3
"""Writes every FLUX.1 architecture file flowscale needs into one folder (architecture_dir).

    python3 tools/flux/make_architectures.py flux-arch/

makes, with your own PyTorch (1.13 or newer), once:
  flux-arch/transformer.pt   FLUX.1's transformer (tools/flux/flux_arch.py; 19 + 38 blocks)
  flux-arch/t5_encoder.pt    T5 v1.1's encoder (tools/flux/t5_arch.py; 24 blocks, T5-XXL)
  flux-arch/clip_text.pt     CLIP's text model (tools/flux/clip_arch.py; 12 layers, CLIP-L)
  flux-arch/ae_decoder.pt    the autoencoder's decoder (tools/flux/ae_arch.py)
No weights are in them: flowscale loads the weights folder into them by parameter name.
Depth options exist for tests and other model sizes.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ae_arch  # noqa: E402
import clip_arch  # noqa: E402
import flux_arch  # noqa: E402
import t5_arch  # noqa: E402


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="the folder to write (made if missing)")
    ap.add_argument("--double-blocks", type=int, default=19)
    ap.add_argument("--single-blocks", type=int, default=38)
    ap.add_argument("--t5-layers", type=int, default=24)
    ap.add_argument("--clip-layers", type=int, default=12)
    a = ap.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    flux_arch.main([os.path.join(a.out, "transformer.pt"),
                    "--double-blocks", str(a.double_blocks),
                    "--single-blocks", str(a.single_blocks)])
    t5_arch.main([os.path.join(a.out, "t5_encoder.pt"), "--layers", str(a.t5_layers)])
    clip_arch.main([os.path.join(a.out, "clip_text.pt"), "--layers", str(a.clip_layers)])
    ae_arch.main([os.path.join(a.out, "ae_decoder.pt")])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
