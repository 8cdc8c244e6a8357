"""Property-based tests of the models, the VQ layer, the training loop's arguments and the
evaluation functions: a random constructor call builds a model or raises a ValueError naming an
argument; a built model maps any input to finite outputs of the right shape or raises a
ValueError naming the input - never a torch error, never a silent NaN. Profiles: test_properties.py.
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from test_properties import budget, expect_value_error, floats, junk

from genlearn import evaluate
from genlearn.models import AE, VAE, VAEGAN, VQVAE, CodePrior, LinearGaussian, ae_loss
from genlearn.models.vq import VectorQuantizer
from genlearn.train import fit

pytestmark = pytest.mark.usefixtures("one_thread")

small = st.integers(1, 6)
bad_count = st.sampled_from([0, -1, 2.5, "3", None, True])
count = st.one_of(small, small, small, bad_count)
shape_image = st.tuples(st.integers(1, 2), st.integers(1, 9), st.integers(1, 9))
in_shapes = st.one_of(shape_image, shape_image, st.tuples(st.integers(1, 12)),
                      st.sampled_from([(), (0, 4, 4), (1, -2, 4), "1,8,8", 8, None, (1, 8.0, 8), (1, 2, 3, 4)]))
widths = st.one_of(st.lists(st.integers(1, 12), max_size=3).map(tuple), st.sampled_from([(0,), (-4,), 5, "ab"]))
real = st.one_of(floats(0, 3), st.sampled_from([-1.0, math.nan, math.inf, "0.1", None, True]))

CONSTRUCTORS = {
    AE: dict(in_shape=in_shapes, latent_dim=count, arch=st.sampled_from(["mlp", "conv", "mlp", "resnet"]),
             hidden=widths, channels=widths, upsample=st.sampled_from(["transpose", "nearest", "bilinear"]),
             output=st.sampled_from(["sigmoid", "linear", "tanh"]), input_noise=real, code_noise=real),
    VAE: dict(in_shape=in_shapes, latent_dim=count, arch=st.sampled_from(["mlp", "conv", "mlp", "resnet"]),
              hidden=widths, channels=widths, upsample=st.sampled_from(["transpose", "nearest", "bilinear"]),
              likelihood=st.sampled_from(["bernoulli", "gaussian", "poisson"]), sigma=real, beta=real,
              free_bits=real, logvar_range=st.sampled_from([(-12.0, 8.0), (-3, 3), (1, -1), (-math.inf, math.inf),
                                                            (0, 0), ("a", "b"), (1, 2, 3), (math.nan, 1)])),
    VQVAE: dict(in_shape=in_shapes, num_codes=count, code_dim=count, channels=widths,
                upsample=st.sampled_from(["transpose", "nearest", "bilinear"]),
                likelihood=st.sampled_from(["bernoulli", "mse", "gaussian"]), beta=real,
                ema=st.booleans(), decay=st.one_of(floats(0, 0.999), st.sampled_from([1.0, -0.1, math.nan])),
                restart_after=st.one_of(st.none(), count)),
    VAEGAN: dict(in_shape=in_shapes, latent_dim=count, hidden=widths, dis_channels=widths,
                 discriminator=st.sampled_from(["two_class", "three_class", "four"]),
                 similarity=st.sampled_from(["feature", "pixel", "l1"]), feature_layer=st.one_of(st.none(), count),
                 gamma=real, similarity_sigma=real,
                 generator_loss=st.sampled_from(["non_saturating", "saturating", "x"])),
    LinearGaussian: dict(data_dim=count, latent_dim=count, sigma=real),
    CodePrior: dict(num_codes=count, code_shape=st.one_of(st.tuples(small, small), st.sampled_from([(2,), 4, None])),
                    channels=count, layers=count, kernel_size=st.one_of(st.none(), st.sampled_from([1, 3, 4, 5, 0])),
                    dropout=st.one_of(floats(0, 0.9), st.sampled_from([1.0, -0.5, math.nan, "0.1"]))),
}


@st.composite
def constructor_calls(draw):
    cls = draw(st.sampled_from(list(CONSTRUCTORS)))
    args = CONSTRUCTORS[cls]
    chosen = draw(st.lists(st.sampled_from(sorted(args)), unique=True, max_size=len(args)))
    kwargs = {name: draw(args[name]) for name in chosen}
    required = {VQVAE: ("in_shape",), VAEGAN: ("in_shape",), LinearGaussian: ("data_dim", "latent_dim"),
                CodePrior: ("num_codes", "code_shape")}.get(cls, ())
    for name in required:  # images for the conv models; the arguments without a default
        kwargs.setdefault(name, draw(shape_image if name == "in_shape" else args[name]))
    return cls, kwargs


def finite_tensors(out) -> list[torch.Tensor]:
    """Every tensor in a model output (a tensor, or a NamedTuple of tensors and NamedTuples)."""
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, tuple):
        return [t for item in out for t in finite_tensors(item)]
    return []


def image_input(model) -> torch.Tensor:
    return torch.rand(3, *model.in_shape)


@budget(100)
@given(constructor_calls())
def test_model_constructors_build_a_working_model_or_name_the_argument(call):
    cls, kwargs = call
    model = expect_value_error(lambda: cls(**kwargs), tuple(kwargs) + ("in_shape entries", "mlp sizes", "channels"))
    if model is None:
        return
    if cls is CodePrior:
        codes = torch.randint(model.num_codes, (2, *model.code_shape))
        assert model.log_prob(codes).shape == (2,) and torch.isfinite(model.log_prob(codes)).all()
        return
    x = torch.randn(3, model.data_dim, dtype=torch.float64) if cls is LinearGaussian else image_input(model)
    model.train()
    for t in finite_tensors(model(x)) if cls is not LinearGaussian else []:
        assert torch.isfinite(t).all(), (cls.__name__, kwargs)
    if hasattr(model, "reconstruct"):
        assert model.reconstruct(x).shape == x.shape
    if hasattr(model, "sample"):  # every model of the protocol (issue 12)
        if cls is AE:  # an AE samples from the Gaussian fitted to its codes, and refuses before the fit
            with pytest.raises(ValueError, match="fit_prior"):
                model.sample(2)
            model.fit_prior(x)
        samples = model.sample(2, generator=torch.Generator().manual_seed(0))
        assert samples.shape == (2, *x.shape[1:]) and torch.isfinite(samples).all()


MODELS = {
    "ae": lambda: AE((1, 4, 4), 2, hidden=(8,)),
    "ae_conv": lambda: AE((1, 5, 5), 2, arch="conv", channels=(4,)),
    "vae": lambda: VAE((1, 4, 4), 2, hidden=(8,)),
    "vae_gaussian": lambda: VAE((3,), 2, hidden=(8,), likelihood="gaussian"),
    "vqvae": lambda: VQVAE((1, 4, 4), 8, 3, channels=(4,)),
    "vaegan": lambda: VAEGAN((1, 4, 4), 2, hidden=(8,), dis_channels=(4,)),
    "linear_gaussian": lambda: LinearGaussian.random(3, 2, generator=torch.Generator().manual_seed(0)),
}


@st.composite
def model_inputs(draw, in_shape):
    """A batch for a model taking ``in_shape``: mostly right, sometimes of a wrong shape, dtype or value."""
    shape = draw(st.one_of(st.just((draw(st.integers(0, 4)), *in_shape)), st.just((draw(st.integers(1, 3)), *in_shape)),
                           st.sampled_from([in_shape, (2, *in_shape, 1), (2, 7), (2,), ()])))
    dtype = draw(st.sampled_from([torch.float32, torch.float32, torch.float64, torch.float16, torch.int64, torch.bool]))
    x = torch.rand(shape)
    poison = draw(st.sampled_from([None, None, None, math.nan, math.inf, -math.inf, 1e30]))
    if poison is not None and x.numel():
        x.view(-1)[draw(st.integers(0, x.numel() - 1))] = poison
    return x.to(dtype)


@budget(150)
@given(st.sampled_from(sorted(MODELS)), st.data())
def test_models_map_any_input_to_finite_outputs_or_name_it(name, data):
    model = MODELS[name]()
    in_shape = tuple(model.in_shape)
    x = data.draw(model_inputs(in_shape))
    methods = [m for m in ("reconstruct", "encode") if hasattr(model, m)]
    if type(model).forward is not torch.nn.Module.forward:
        methods.append("forward")
    method = data.draw(st.sampled_from(methods))
    call = (lambda: model(x)) if method == "forward" else (lambda: getattr(model, method)(x))
    out = expect_value_error(call, ("x", "input"))
    if out is None:
        return
    assert x.is_floating_point() and x.shape[1:] == in_shape
    for t in finite_tensors(out):
        assert torch.isfinite(t).all(), f"{name}.{method} gave a non-finite output for x = {x}"
    if method == "reconstruct":
        assert out.shape == x.shape


@budget(100)
@given(st.sampled_from(["ae", "vae", "vaegan", "linear_gaussian"]), st.data())
def test_decoders_map_any_code_to_finite_images_or_name_it(name, data):
    model = MODELS[name]()
    z = data.draw(model_inputs((model.latent_dim,)))
    out = expect_value_error(lambda: model.decode(z), ("z",))
    if out is not None:
        assert out.shape == (len(z), *model.in_shape) and torch.isfinite(out).all(), (name, z, out)


@budget(100)
@given(st.sampled_from(sorted(MODELS)), st.one_of(st.integers(-2, 5), junk))
def test_sample_counts(name, n):
    model = MODELS[name]()
    if not hasattr(model, "sample"):
        return  # the protocol (issue 12) gives every model one; its own test checks that
    out = expect_value_error(lambda: model.sample(n), ("n",))
    if out is not None:
        assert out.shape == (n, *model.in_shape) and torch.isfinite(out).all()


# --- the VQ layer --------------------------------------------------------------------------------
@budget(120)
@given(count, count, real, st.booleans(), st.one_of(floats(0, 0.99), st.sampled_from([1.0, -1.0, math.nan])),
       st.one_of(st.none(), count), st.sampled_from([1, -1, 0, 2, True]), st.data())
def test_vector_quantizer_quantises_to_codebook_rows_or_names_the_argument(k, d, beta, ema, decay, restart, dim, data):
    vq = expect_value_error(lambda: VectorQuantizer(k, d, beta, ema, decay, restart_after=restart, channel_dim=dim),
                            ("num_codes", "code_dim", "beta", "decay", "restart_after", "channel_dim"))
    if vq is None:
        return
    shape = data.draw(st.sampled_from([(2, d), (2, d, 2, 3) if dim == 1 else (2, 2, 3, d), (2, d + 1), (d,), (0, d)]))
    z = data.draw(st.sampled_from([torch.randn, lambda *s: torch.randn(*s) * 1e20, lambda *s: torch.randn(*s).long(),
                                   lambda *s: torch.full(s, math.nan)]))(*shape)
    vq.train(data.draw(st.booleans()))
    out = expect_value_error(lambda: vq(z), ("z",))
    if out is None:
        return
    assert out.quantized.shape == z.shape and torch.isfinite(out.quantized).all()
    rows = out.quantized.movedim(vq.channel_dim, -1).reshape(-1, d)
    assert all(any(torch.allclose(r, c, atol=1e-5) for c in vq.codebook) for r in rows) or vq.training
    assert torch.isfinite(out.codebook_loss) and torch.isfinite(out.commitment_loss)
    assert 1 - 1e-6 <= float(out.perplexity) <= vq.num_codes + 1e-6


# --- the training loop's arguments ---------------------------------------------------------------
@budget(40)
@given(st.one_of(st.integers(0, 2), bad_count), st.one_of(st.integers(1, 30), bad_count),
       st.one_of(floats(1e-5, 1.0), st.sampled_from([0.0, -1e-3, math.nan, math.inf, "0.01", None])),
       st.one_of(st.none(), st.integers(0, 2**32), st.sampled_from([-1, 2**70, 1.5, "0"])),
       st.one_of(st.none(), floats(0.1, 10), st.sampled_from([0.0, -1.0, math.nan])),
       st.sampled_from([None, "cpu", "cpu:0", "nonsense", "cuda:99"]),
       st.sampled_from(["tensor", "tuple", "empty", "list_of_lists", "nan"]))
def test_fit_trains_or_names_the_argument(epochs, batch_size, lr, seed, clip, device, data_kind):
    model = AE((3,), 2, hidden=(4,), output="linear")
    x = torch.randn(20, 3)
    train_data = {"tensor": x, "tuple": (x,), "empty": x[:0], "list_of_lists": [[1.0, 2.0, 3.0]],
                  "nan": torch.full((20, 3), math.nan)}[data_kind]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            history = expect_value_error(
                lambda: fit(model, ae_loss, train_data, epochs, batch_size=batch_size, lr=lr, seed=seed,
                            clip_grad_norm=clip, device=device, progress=False),
                ("epochs", "batch_size", "lr", "seed", "clip_grad_norm", "device", "train_data"))
        except FloatingPointError as err:  # the trainer's documented stop before a step on a NaN loss
            assert "loss became" in str(err)
            history = None
    for p in model.parameters():
        assert torch.isfinite(p).all(), "a NaN reached the weights"
    if history is not None:
        assert all(math.isfinite(v) for k, v in history.items() if k != "seconds" for v in v)
        assert len(history.get("loss", [])) == epochs


# --- evaluation ----------------------------------------------------------------------------------
@budget(100)
@given(st.integers(1, 5), st.integers(1, 3), floats(0.1, 3), st.integers(0, 2**31))
def test_linear_gaussian_elbo_is_below_the_exact_likelihood(data_dim, latent_dim, sigma, seed):
    gen = torch.Generator().manual_seed(seed)
    model = LinearGaussian.random(data_dim, latent_dim, sigma, generator=gen)
    x = model.sample(4, generator=gen)
    mu, logvar = model.encode(x)
    exact = model.log_marginal(x)
    elbo = model.elbo_exact(x, mu, logvar)
    assert (elbo <= exact + 1e-9).all()
    assert torch.allclose(elbo + model.kl_to_posterior(x, mu, logvar), exact, atol=1e-8)
    iwae = evaluate.iwae_bound(model, x, 256, generator=gen)
    mc_elbo = evaluate.elbo(model, x, 64, generator=gen)
    assert torch.isfinite(iwae).all() and torch.isfinite(mc_elbo).all()
    if latent_dim == 1:  # the mean-field q is the exact posterior: every weight is p(x), so L_K = log p(x)
        assert torch.allclose(iwae, exact.detach(), atol=1e-6)
    else:  # L_K >= the mean of log w over the same K draws, close to the ELBO (the upper side is heavy-tailed)
        assert float(iwae.mean()) >= float(elbo.mean()) - 0.1


@budget(80)
@given(st.sampled_from(["vae", "vae_gaussian", "linear_gaussian"]), st.sampled_from(["elbo", "iwae_bound",
       "kl_per_dim", "active_units"]), st.one_of(st.integers(1, 4), bad_count), st.data())
def test_evaluation_functions_give_finite_figures_or_name_the_argument(name, fn, k, data):
    model = MODELS[name]()
    x = data.draw(model_inputs(tuple(model.in_shape)))
    if x.is_floating_point() and name == "vae":
        x = (x > 0.5).to(x.dtype) if torch.isfinite(x).all() else x  # binary data for a Bernoulli likelihood
    call = {"elbo": lambda: evaluate.elbo(model, x, k), "iwae_bound": lambda: evaluate.iwae_bound(model, x, k),
            "kl_per_dim": lambda: evaluate.kl_per_dim(model, x, batch_size=k),
            "active_units": lambda: evaluate.active_units(model, x, batch_size=k)}[fn]
    out = expect_value_error(call, ("x", "n_samples", "k", "batch_size", "examples", "input"))
    if out is None:
        return
    for t in finite_tensors(out):
        assert torch.isfinite(t).all(), f"{fn} on {name} gave a non-finite figure for x = {x}"


@budget(100)
@given(st.one_of(floats(-1e3, 1e3), st.sampled_from([math.nan, math.inf, "3", None])),
       st.one_of(st.integers(1, 1000), bad_count))
def test_bits_per_dim(nats, n_dims):
    out = expect_value_error(lambda: evaluate.bits_per_dim(nats, n_dims), ("nats", "n_dims"))
    if out is not None:
        assert math.isfinite(out) and out == pytest.approx(nats / (n_dims * math.log(2)))
