"""``SemanticGuidance.apply_level``: a level outside the guided layers is refused, not applied."""

from __future__ import annotations

import pytest
import torch

from perceive_ir import SemanticGuidance


@pytest.fixture
def guidance():
    return SemanticGuidance(encoder=None, cond_dim=8, channels=(4, 4), cross_attention=(False, True), hidden_dim=8)


@pytest.mark.parametrize("level", [99, 2, -1, -5, True, 1.0, "0"])
def test_a_level_outside_the_guided_layers_is_refused(guidance, level):
    x, gamma, beta = torch.rand(1, 4, 8, 8), torch.zeros(1, 4), torch.zeros(1, 4)
    with pytest.raises(ValueError, match=r"`level` must be an int in \[0, 2\)"):
        guidance.apply_level(level, x, gamma, beta)


def test_valid_levels_apply(guidance):
    x = torch.rand(1, 4, 8, 8)
    torch.testing.assert_close(guidance.apply_level(0, x, torch.zeros(1, 4), torch.zeros(1, 4)), x)
    assert guidance.apply_level(1, x, torch.zeros(1, 4), torch.zeros(1, 4)).shape == x.shape
