"""The evaluation protocol measures what theory predicts on images written at test time."""

from __future__ import annotations

import math

import torch

from perceive_ir.apps.evaluation import evaluate_filelists
from perceive_ir.data import save_png, write_filelist


def test_evaluation_measures_known_noise_levels(tmp_path):
    """The identity 'restorer' on CBSD68-style noise scores what theory says: 20·log10(255/σ) dB."""
    gen = torch.Generator().manual_seed(1)
    for i in range(2):
        save_png(0.5 + 0.05 * torch.rand(3, 64, 64, generator=gen), tmp_path / "clean" / f"{i}.png")
    rows = evaluate_filelists(torch.nn.Identity(), write_filelist("cbsd68", tmp_path / "clean", tmp_path / "lists"))
    for row, sigma in zip(rows, (15, 25, 50), strict=True):
        assert row.degradation == f"noise{sigma}" and row.n == 2
        assert abs(row.psnr - 20 * math.log10(255 / sigma)) < 0.3, (sigma, row.psnr)
        assert 0 < row.ssim < 1


def test_a_perfect_restoration_is_written_as_strict_json(tmp_path):
    """Identical images score the 120 dB ceiling (MSE floored at 1e-12), never an Infinity JSON cannot hold."""
    import json

    from perceive_ir.apps.evaluation import PSNR_CEILING_DB, EvaluationRow, _score
    from perceive_ir.apps.evaluation_report import write_results

    image = torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(0))
    score = _score("same", image, image.clone())
    assert score.psnr == PSNR_CEILING_DB == 120.0
    row = EvaluationRow("rain100l", "derain", None, "test", "lists/rain100l_test.json", [score])
    json_path, _ = write_results([row], tmp_path, {"color": "RGB"}, "identity")

    def refuse(constant):
        raise AssertionError(f"non-standard JSON constant {constant}")

    doc = json.loads(json_path.read_text(), parse_constant=refuse)
    assert doc["rows"][0]["psnr"] == 120.0
