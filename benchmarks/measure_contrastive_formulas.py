"""The authors' L_cl against perceive-ir's earlier formula, on the authors' reference batches.

Run: ``python benchmarks/measure_contrastive_formulas.py`` (reads ``../shared/official_ref/losses``).
Prints, per reference case, both loss values and the cosine between their gradients with respect
to the anchors: how far the earlier formula (``negatives="positives"``) was from the authors'.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file

from perceive_ir.perceive.contrastive import degradation_contrastive_loss

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "official_ref" / "losses" / "contrastive.safetensors"


def _value_and_anchor_gradient(anchor: torch.Tensor, positive: torch.Tensor, labels: torch.Tensor,
                               negatives: str) -> tuple[float, torch.Tensor]:
    anchor = anchor.clone().requires_grad_(True)
    loss = degradation_contrastive_loss(anchor, positive, labels, negatives=negatives)
    loss.backward()
    return float(loss.detach()), anchor.grad.flatten()


def main() -> None:
    tensors = load_file(str(REFERENCE))
    for case in ("mixed", "two"):
        anchor, positive, labels = (tensors[f"cl_{case}_{key}"] for key in ("anchor", "positive", "labels"))
        authors, authors_grad = _value_and_anchor_gradient(anchor, positive, labels, "anchors")
        earlier, earlier_grad = _value_and_anchor_gradient(anchor, positive, labels, "positives")
        cosine = float(torch.nn.functional.cosine_similarity(authors_grad, earlier_grad, dim=0))
        print(f"{case}: authors' {authors:.3f}, earlier {earlier:.3f} ({100 * (earlier / authors - 1):+.0f} %), "
              f"anchor-gradient cosine {cosine:.3f}")


if __name__ == "__main__":
    main()
