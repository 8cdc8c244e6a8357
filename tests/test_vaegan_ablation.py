"""VAEGAN(adversarial_weight=...): the switch that separates the learned similarity from the GAN
term (lesson 06's ablation at matched weights)."""

import pytest
import torch

from genlearn.models import VAEGAN
from genlearn.models.vaegan import routes, vaegan_grads, vaegan_loss


def _model(**kw):
    torch.manual_seed(0)
    return VAEGAN((1, 8, 8), 4, hidden=(32, 32), dis_channels=(8, 16), **kw).double()


def test_adversarial_weight_zero_leaves_only_the_similarity_in_the_decoder_gradient():
    x = torch.rand(6, 1, 8, 8, dtype=torch.float64)
    model = _model(adversarial_weight=0.0, gamma=2.0)
    assert routes(model)["decoder"] == {"similarity": 2.0, "generator": 0.0}
    g = torch.Generator().manual_seed(1)
    _, grads = vaegan_grads(model, x, g)
    terms = vaegan_loss(model, x, generator=torch.Generator().manual_seed(1))
    want = torch.autograd.grad(2.0 * terms.similarity, list(model.decoder.parameters()), allow_unused=True)
    for got, w in zip(grads["decoder"], want, strict=True):
        assert torch.allclose(got, torch.zeros_like(got) if w is None else w, atol=1e-10)
    assert sum(float(t.abs().sum()) for t in grads["discriminator"]) > 0  # the discriminator still learns


def test_adversarial_weight_is_in_the_config_and_checked():
    model = _model(similarity="pixel", adversarial_weight=0.0)
    assert model.config()["adversarial_weight"] == 0.0
    assert type(model)(**model.config()).config() == model.config()
    assert _model().adversarial_weight == 1.0
    with pytest.raises(ValueError, match="adversarial_weight"):
        _model(adversarial_weight=-1.0)
