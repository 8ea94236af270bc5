"""Calibration of ``perceive-ir evaluate --protocol`` against the authors' own evaluator.

Runs the adair3 / adair5 protocols on the reference set written by the authors' code
(``shared/official_ref/evaluation``: a miniature test tree and their per-image PSNR/SSIM for an
identity network, a 3x3 box filter and their tiny restorer) and prints, per protocol and
restorer, the largest per-image gaps and the gap of the column mean, for the default
(scikit-image) SSIM and for the named Gaussian option.

    python benchmarks/calibrate_evaluation.py [--ref ../shared/official_ref]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch.nn.functional as F
from torch import Tensor, nn

from perceive_ir.apps.protocol_evaluation import evaluate_protocol
from perceive_ir.models import load_model


class Box3(nn.Module):
    """The reference set's box3 restorer: a 3x3 box filter over a 1-px replicate border."""

    def forward(self, x: Tensor) -> Tensor:
        """Filter ``x`` (same size out)."""
        return F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default=str(Path(__file__).resolve().parents[2] / "shared" / "official_ref"))
    ref = Path(parser.parse_args().ref)
    expected = json.loads((ref / "evaluation" / "expected.json").read_text())
    official = load_model(str(ref / "restorer" / "perceiveIR_500000.pth"),
                          semantic_encoder=str(ref / "restorer" / "dinov2_tiny")).module
    restorers = {"identity": nn.Identity(), "box3": Box3(), "official": official}
    print("| protocol | restorer | images | max abs dPSNR (dB) | max abs dSSIM | column mean dPSNR | column mean dSSIM "
          "| max abs dSSIM, --ssim gaussian [ours] |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for protocol in ("adair3", "adair5"):
        reference = expected[protocol]
        for name, model in restorers.items():
            gaps = {}
            for ssim in ("skimage", "gaussian"):
                result = evaluate_protocol(model, ref / "evaluation" / "data", protocol, ssim=ssim, device="cpu")
                pairs = list(zip(result["records"], reference["records"], strict=True))
                gaps[ssim] = (
                    max(abs(a["psnr"] - b["scores"][name]["psnr"]) for a, b in pairs),
                    max(abs(a["ssim"] - b["scores"][name]["ssim"]) for a, b in pairs),
                    abs(result["column_mean"]["psnr"] - reference["column_mean"][name]["psnr"]),
                    abs(result["column_mean"]["ssim"] - reference["column_mean"][name]["ssim"]),
                    len(pairs),
                )
            dp, ds, cp, cs, n = gaps["skimage"]
            gaussian = gaps["gaussian"][1]
            print(f"| {protocol} | {name} | {n} | {dp:.1e} | {ds:.1e} | {cp:.1e} | {cs:.1e} | {gaussian:.4f} |")


if __name__ == "__main__":
    main()
