"""genlearn.train: fit (history, hooks, determinism) and checkpoints."""

import math

import pytest
import torch

import genlearn
from genlearn import seed_everything
from genlearn.data import load_digits
from genlearn.distributed import epoch_order
from genlearn.models import AE, VAE, ae_loss, kl_warmup, vae_loss
from genlearn.train import fit, load, save


@pytest.fixture(scope="module")
def digits():
    return load_digits("train", binarize=True).x[:250]


def _tiny_vae(**kw):
    return VAE((1, 8, 8), 2, hidden=(16,), **kw)


def test_two_fits_with_the_same_seed_give_identical_parameters(digits):
    params = []
    for _ in range(2):
        seed_everything(0)
        model = _tiny_vae()
        history = fit(model, vae_loss, digits, 2, batch_size=64, progress=False, device="cpu")
        params.append([p.detach().clone() for p in model.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*params, strict=True))
    seed_everything(1)
    other = _tiny_vae()
    fit(other, vae_loss, digits, 2, batch_size=64, progress=False, device="cpu")
    assert not all(torch.equal(a, b) for a, b in zip(params[0], other.parameters(), strict=True))
    assert set(history) == {"loss", "recon", "kl", "seconds"}
    assert all(len(v) == 2 for v in history.values())


def test_history_holds_per_example_means_over_the_epoch(digits):
    # lr = 0 freezes the model, so each epoch's mean loss is the loss on the whole set; 250
    # examples in batches of 100 leave a last batch of 50, which must be weighted by its size
    seed_everything(0)
    model = AE((1, 8, 8), 2, hidden=(16,))
    history = fit(model, ae_loss, digits, 2, batch_size=100, optimizer=torch.optim.SGD(model.parameters(), lr=0.0),
                  progress=False, device="cpu")
    with torch.no_grad():
        expected = float(ae_loss(model.eval(), digits).loss)
    assert history["loss"] == pytest.approx([expected, expected], rel=1e-6)
    assert history["recon"] == history["loss"]
    assert all(s > 0 for s in history["seconds"])


def test_training_lowers_the_loss_and_leaves_eval_mode(digits):
    seed_everything(0)
    model = _tiny_vae()
    history = fit(model, vae_loss, digits, 5, batch_size=50, lr=3e-3, progress=False, device="cpu")
    assert history["loss"][-1] < history["loss"][0] - 5  # nats per example
    assert not model.training


def test_validation_terms_are_computed_in_eval_mode(digits):
    seed_everything(0)
    model = AE((1, 8, 8), 2, hidden=(16,), code_noise=1.0)  # noise would change the val loss
    history = fit(model, ae_loss, digits[:200], 1, val_data=digits[200:], progress=False, device="cpu")
    with torch.no_grad():
        expected = float(ae_loss(model.eval(), digits[200:]).loss)
    assert history["val_loss"] == pytest.approx([expected], rel=1e-6)


def test_kl_warmup_hook_sets_beta_before_each_epoch(digits):
    seen = []
    model = _tiny_vae(beta=0.0)
    fit(model, vae_loss, digits, 3, before_epoch=[kl_warmup(2), lambda e, m, h: seen.append(m.beta)],
        progress=False, device="cpu")
    assert seen == [0.5, 1.0, 1.0]


def test_after_epoch_hook_can_stop_training(digits):
    calls = []

    def stop_after_two(epoch, model, history):
        calls.append((epoch, len(history["loss"])))
        return epoch == 1

    history = fit(_tiny_vae(), vae_loss, digits, 10, after_epoch=stop_after_two, progress=False, device="cpu")
    assert calls == [(0, 1), (1, 2)] and len(history["loss"]) == 2


def test_labelled_batches_are_passed_to_the_loss(digits):
    y = torch.arange(len(digits))
    seen = []

    def loss_fn(model, x, labels):
        seen.append(labels)
        return ae_loss(model, x)

    fit(AE((1, 8, 8), 2, hidden=(8,)), loss_fn, (digits, y), 1, batch_size=100, seed=0, progress=False, device="cpu")
    assert sorted(torch.cat(seen).tolist()) == y.tolist()  # each example once per epoch, shuffled


def test_progress_bar_can_be_hidden_and_shows_by_default(digits, capsys):
    fit(_tiny_vae(), vae_loss, digits, 1, progress=False, device="cpu")
    assert capsys.readouterr().err == ""
    fit(_tiny_vae(), vae_loss, digits, 1, progress=True, device="cpu")
    err = capsys.readouterr().err
    assert "1/1" in err and "loss=" in err


def test_default_device_is_genlearn_device(digits):
    model = _tiny_vae()
    fit(model, vae_loss, digits[:50], 1, progress=False)
    assert next(model.parameters()).device.type == genlearn.device().type


def test_fit_rejects_bad_data_and_bad_losses(digits):
    with pytest.raises(ValueError, match="same first dimension"):
        fit(_tiny_vae(), vae_loss, (digits, torch.zeros(3)), 1, progress=False, device="cpu")
    with pytest.raises(ValueError, match="0-dim"):
        fit(_tiny_vae(), lambda m, x: {"loss": vae_loss(m, x).loss * torch.ones(2)}, digits, 1,
            progress=False, device="cpu")
    with pytest.raises(ValueError, match="'loss'"):
        fit(_tiny_vae(), lambda m, x: {"total": vae_loss(m, x).loss}, digits, 1, progress=False, device="cpu")
    with pytest.raises(FloatingPointError, match="epoch 0"):
        fit(_tiny_vae(), lambda m, x: vae_loss(m, x).loss * math.nan, digits, 1, progress=False, device="cpu")


# ------------------------------------------------------------------------------ checkpoints


def test_checkpoint_round_trip_rebuilds_the_model(tmp_path, digits):
    seed_everything(0)
    model = VAE((1, 8, 8), 3, arch="conv", channels=(4, 8), upsample="nearest", beta=0.5).eval()
    path = save(model, tmp_path / "ckpt" / "vae.pt")
    again = load(path, device="cpu")
    assert type(again) is VAE and again.config() == model.config() and not again.training
    torch.testing.assert_close(again.encode(digits[:5]).mu, model.encode(digits[:5]).mu)
    into = VAE((1, 8, 8), 3, arch="conv", channels=(4, 8), upsample="nearest", beta=0.5)
    load(path, model=into, device="cpu")
    assert all(torch.equal(a, b) for a, b in zip(into.parameters(), model.parameters(), strict=True))
    raw = torch.load(path, weights_only=True)  # plain data only: safe to load
    assert raw["class"] == "VAE" and raw["config"]["latent_dim"] == 3


def test_loading_into_a_model_of_another_shape_raises(tmp_path):
    path = save(_tiny_vae(), tmp_path / "vae.pt")
    with pytest.raises(ValueError, match="latent_dim: saved 2, model 4"):
        load(path, model=VAE((1, 8, 8), 4, hidden=(16,)), device="cpu")
    with pytest.raises(ValueError, match="holds a VAE"):
        load(path, model=AE((1, 8, 8), 2, hidden=(16,)), device="cpu")


def test_mismatched_shapes_in_the_state_dict_are_named(tmp_path):
    model = _tiny_vae()
    path = save(model, tmp_path / "vae.pt")
    ckpt = torch.load(path, weights_only=True)
    ckpt["config"]["hidden"] = [32]  # a config that does not match the stored weights
    torch.save(ckpt, path)
    with pytest.raises(ValueError, match=r"shape mismatch: encoder\.1\.0\.weight: saved \(16, 64\), model \(32, 64\)"):
        load(path, device="cpu")


def test_load_rejects_files_that_are_not_checkpoints(tmp_path):
    path = tmp_path / "x.pt"
    torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(ValueError, match="not a genlearn checkpoint"):
        load(path)
    path.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load(path)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.pt")


@pytest.mark.parametrize("n,world", [(1500, 1), (1500, 2), (10, 3), (7, 4), (2, 5)])
@pytest.mark.parametrize("shuffle", [True, False])
def test_epoch_order_is_distributed_samplers_order(n, world, shuffle):
    from torch.utils.data import DistributedSampler

    for replica in range(world):
        sampler = DistributedSampler(range(n), num_replicas=world, rank=replica, shuffle=shuffle, seed=5)
        for epoch in (0, 3):
            sampler.set_epoch(epoch)
            got = epoch_order(n, epoch, 5, shuffle, num_replicas=world, replica=replica)
            assert got.dtype == torch.int64
            assert got.tolist() == list(sampler)


def test_epoch_order_rejects_a_replica_outside_the_group():
    with pytest.raises(ValueError, match="replica"):
        epoch_order(10, 0, 0, num_replicas=2, replica=2)
