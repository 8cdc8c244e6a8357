"""genlearn.data: digits and their fixed split, moon phases, 2-D toys, the IDX reader, the
MNIST / Fashion-MNIST loaders (where they look, the argument order) and load_data by name."""

import gzip

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits as sk_load_digits

from genlearn.data import (
    DataNotFoundError,
    digits_split,
    gaussian_mixture,
    load_data,
    load_digits,
    load_fashion_mnist,
    load_mnist,
    make_loader,
    moon_phase,
    moon_phases,
    random_moons,
    read_idx,
    rings,
    two_moons,
    write_idx,
)

# ------------------------------------------------------------------------------------ digits


def test_digits_split_is_the_benchmark_protocol():
    perm = np.random.RandomState(0).permutation(1797)
    train, test = digits_split()
    np.testing.assert_array_equal(test, perm[:297])
    np.testing.assert_array_equal(train, perm[297:])


def test_digits_are_data_over_16_in_unit_range_with_labels():
    sk = sk_load_digits()
    train, test = digits_split()
    for split, idx in (("train", train), ("test", test)):
        x, y = load_digits(split)
        assert x.shape == (len(idx), 1, 8, 8) and x.dtype == torch.float32
        assert y.dtype == torch.int64 and y.shape == (len(idx),)
        np.testing.assert_allclose(x.reshape(len(idx), 64).numpy(), sk.data[idx] / 16, rtol=0, atol=1e-7)
        np.testing.assert_array_equal(y.numpy(), sk.target[idx])
        assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    assert load_digits("all").x.shape == (1797, 1, 8, 8)
    assert set(train) | set(test) == set(range(1797)) and not set(train) & set(test)


def test_binarised_digits_threshold_at_one_half():
    sk = sk_load_digits()
    _, test = digits_split()
    xb = load_digits("test", binarize=True).x.reshape(297, 64).numpy()
    np.testing.assert_array_equal(xb, (sk.data[test] / 16 >= 0.5).astype(np.float32))


def test_digits_reject_unknown_split():
    with pytest.raises(ValueError, match="split must be one of"):
        load_digits("validation")


# ------------------------------------------------------------------------------- moon phases


@pytest.mark.parametrize("phase", [0.1, 0.25, 0.5, 0.75, 0.9])
def test_moon_lit_area_equals_the_phase(phase):
    # the lit area is phase * (disc area) exactly; pixelisation of the edges costs < 1 %
    imgs = moon_phases([phase, 1.0], size=64)
    assert imgs.shape == (2, 1, 64, 64)
    assert float(imgs[0].sum() / imgs[1].sum()) == pytest.approx(phase, abs=0.01)


def test_new_moon_is_dark_and_half_moon_lit_on_the_right():
    assert float(moon_phase(0.0, size=16).abs().max()) == 0.0
    half = moon_phase(0.5, size=28)[0]
    left, right = half[:, :13], half[:, 15:]
    assert float(left.max()) == 0.0 and float(right.sum()) > 50
    full = moon_phase(1.0, size=28)[0]
    torch.testing.assert_close(full, full.flip(1))  # a full moon is a symmetric disc
    assert 0.0 <= float(full.min()) and float(full.max()) == 1.0


def test_moon_images_are_anti_aliased_and_continuous_in_the_phase():
    # the terminator x = k * sqrt(r^2 - y^2), k = 1 - 2 phase, moves by at most 2 r dphase pixels,
    # and a one-pixel ramp turns that into a brightness change of at most 2 r dphase
    size, radius, dphase = 28, 0.4, 0.01
    r = radius * size
    a, b = moon_phases([0.4, 0.4 + dphase], size=size, radius=radius)
    assert float((a - b).abs().max()) <= 2 * r * dphase + 1e-6
    grey = ((a > 0.02) & (a < 0.98)).sum()
    assert grey > 10, "edges should have intermediate grey levels"


def test_moon_phase_rejects_out_of_range_phase():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        moon_phases([1.5])
    with pytest.raises(ValueError, match="1-D"):
        moon_phases([[0.5]])


def test_random_moons_are_reproducible():
    x1, p1 = random_moons(5, size=16, generator=torch.Generator().manual_seed(3))
    x2, p2 = random_moons(5, size=16, generator=torch.Generator().manual_seed(3))
    assert x1.shape == (5, 1, 16, 16) and torch.equal(x1, x2) and torch.equal(p1, p2)
    assert ((p1 >= 0) & (p1 <= 1)).all()


# ---------------------------------------------------------------------------------- 2-D toys


def test_gaussian_mixture_components_sit_on_the_circle():
    n, k, radius, std = 4000, 4, 2.0, 0.2
    x, j = gaussian_mixture(n, k=k, radius=radius, std=std, generator=torch.Generator().manual_seed(0))
    assert x.shape == (n, 2) and j.shape == (n,) and set(j.tolist()) == set(range(k))
    for c in range(k):
        pts = x[j == c].double()
        centre = radius * torch.tensor([np.cos(2 * np.pi * c / k), np.sin(2 * np.pi * c / k)])
        # the component mean has standard error std / sqrt(n_c) per coordinate
        assert float((pts.mean(0) - centre).abs().max()) < 5 * std / len(pts) ** 0.5


def test_rings_have_radii_one_two_and_two_moons_two_labels():
    x, j = rings(3000, n_rings=2, noise=0.05, generator=torch.Generator().manual_seed(0))
    for c in (0, 1):
        assert float(x[j == c].norm(dim=1).mean()) == pytest.approx(c + 1, abs=5 * 0.05 / 1500**0.5)
    m, lab = two_moons(100, noise=0.0, generator=torch.Generator().manual_seed(0))
    upper = m[lab == 0]
    torch.testing.assert_close(upper.norm(dim=1), torch.ones(50), atol=1e-6, rtol=0)
    assert set(lab.tolist()) == {0, 1}


def test_toy_data_reproducible_with_a_generator():
    a = two_moons(10, generator=torch.Generator().manual_seed(1))[0]
    b = two_moons(10, generator=torch.Generator().manual_seed(1))[0]
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="noise"):
        two_moons(10, noise=-1.0)


def test_make_loader_is_reproducible_and_batches_everything():
    x, y = torch.arange(10.0)[:, None], torch.arange(10)
    order1 = torch.cat([b[1] for b in make_loader(x, y, batch_size=4, seed=0)])
    order2 = torch.cat([b[1] for b in make_loader(x, y, batch_size=4, seed=0)])
    assert torch.equal(order1, order2) and sorted(order1.tolist()) == list(range(10))
    with pytest.raises(ValueError, match="same first dimension"):
        make_loader(x, y[:5])


# ------------------------------------------------------------------------------- IDX reader



def _write_mnist(folder, n=5, compress=False, image_shape=(28, 28)):
    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, size=(n, *image_shape)).astype(np.uint8)
    labels = rng.randint(0, 10, size=n).astype(np.uint8)
    ext = ".gz" if compress else ""
    for prefix in ("train", "t10k"):
        write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", labels)
    return images, labels


@pytest.mark.parametrize("compress", [False, True])
def test_load_mnist_reads_idx_files_plain_or_gzipped(tmp_path, compress):
    images, labels = _write_mnist(tmp_path, compress=compress)
    for split in ("train", "test"):
        x, y = load_mnist(split, root=tmp_path)
        assert x.shape == (5, 1, 28, 28) and x.dtype == torch.float32
        np.testing.assert_allclose(x[:, 0].numpy(), images / 255.0, rtol=0, atol=1e-7)
        np.testing.assert_array_equal(y.numpy(), labels)
    assert load_fashion_mnist(root=tmp_path).x.shape == (5, 1, 28, 28)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip_keeps_values_shape_and_type(tmp_path, dtype):
    a = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype) if dtype != np.uint8 else np.arange(24, dtype=dtype)
    path = write_idx(tmp_path / "a.idx", a)
    b = read_idx(path)
    assert b.dtype == np.dtype(dtype) and b.shape == a.shape
    np.testing.assert_array_equal(a, b)
    raw = path.read_bytes()
    assert raw[:2] == b"\x00\x00" and raw[3] == a.ndim  # the header follows the IDX format


def test_missing_folder_error_says_where_to_put_the_files(tmp_path):
    folder = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError) as err:
        load_mnist(root=folder)
    msg = str(err.value)
    assert str(folder) in msg and "train-images-idx3-ubyte" in msg and "t10k-labels-idx1-ubyte" in msg
    assert "GENLEARN_DATA" in msg


def test_missing_file_in_existing_folder_is_named(tmp_path):
    _write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        load_mnist("test", root=tmp_path)


def test_default_folder_comes_from_genlearn_data(tmp_path, isolated):
    with pytest.raises(FileNotFoundError, match="fashion-mnist"):
        load_fashion_mnist()
    (tmp_path / "data" / "mnist").mkdir(parents=True)
    _write_mnist(tmp_path / "data" / "mnist")
    assert len(load_mnist().x) == 5


def test_truncated_idx_file_raises(tmp_path):
    _write_mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(ValueError, match="truncated"):
        load_mnist(root=tmp_path)
    path.write_bytes(path.read_bytes()[:6])  # not even a complete header
    with pytest.raises(ValueError, match="truncated IDX header"):
        read_idx(path)


def test_bad_magic_number_raises(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(ValueError, match="magic"):
        read_idx(path)
    path.write_bytes(b"\x00\x00\x42\x01" + bytes(8))
    with pytest.raises(ValueError, match="type code"):
        read_idx(path)


def test_corrupt_gzip_raises(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + bytes(4 + 10))[:-12])
    with pytest.raises(ValueError, match="gzip"):
        read_idx(path)


def test_wrong_image_dims_raise(tmp_path):
    _write_mnist(tmp_path, image_shape=(27, 28))
    with pytest.raises(ValueError, match=r"\(N, 28, 28\)"):
        load_mnist(root=tmp_path)


def test_images_and_labels_must_agree_in_number(tmp_path):
    _write_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(4, dtype=np.uint8))
    with pytest.raises(ValueError, match="5 images but .* 4 labels"):
        load_mnist(root=tmp_path)


# ------------------------------------------------------------------ where the loaders look


def test_search_order_genlearn_data_then_cache_then_debian(isolated):
    folders = {
        "data": isolated / "data" / "fashion-mnist",
        "cache": isolated / "cache" / "genlearn" / "fashion-mnist",
        "debian": isolated / "debian",
    }
    for n, folder in enumerate(folders.values(), start=2):
        folder.mkdir(parents=True)
        _write_mnist(folder, n=n, compress=True)
    assert len(load_fashion_mnist("train").x) == 2  # $GENLEARN_DATA/fashion-mnist first
    for name, n in (("data", 3), ("cache", 4)):
        for f in folders[name].iterdir():
            f.unlink()
        assert len(load_fashion_mnist("test").x) == n, f"after emptying {name}"


def test_a_folder_counts_only_if_it_has_both_files_of_the_split(isolated):
    data, cache = isolated / "data" / "mnist", isolated / "cache" / "genlearn" / "mnist"
    for n, folder in ((2, data), (3, cache)):
        folder.mkdir(parents=True)
        _write_mnist(folder, n=n)
    (data / "t10k-labels-idx1-ubyte").unlink()
    assert len(load_mnist("train").x) == 2 and len(load_mnist("test").x) == 3


def test_nothing_found_lists_the_folders_and_the_commands(isolated):
    with pytest.raises(DataNotFoundError) as err:
        load_fashion_mnist("test")
    msg = str(err.value)
    for folder in (isolated / "data" / "fashion-mnist", isolated / "cache" / "genlearn" / "fashion-mnist",
                   isolated / "debian"):
        assert str(folder) in msg
    assert "genlearn data fetch fashion-mnist" in msg and "apt-get install dataset-fashion-mnist" in msg
    assert "t10k-images-idx3-ubyte" in msg
    with pytest.raises(FileNotFoundError, match="genlearn data fetch mnist"):
        load_mnist()


# ---------------------------------------------------------------- argument order (one release)


def test_the_old_argument_order_is_refused_with_the_call_to_make(tmp_path):
    _write_mnist(tmp_path, n=3)
    with pytest.raises(ValueError, match=r"a folder goes in root=, e.g. load_fashion_mnist\('train', root="):
        load_fashion_mnist(str(tmp_path), "test")
    with pytest.raises(ValueError, match=r"load_mnist\('train', root="):
        load_mnist(tmp_path)


def test_unknown_split_is_a_value_error_not_a_folder(tmp_path):
    _write_mnist(tmp_path)
    with pytest.raises(ValueError, match="split must be 'train' or 'test', got 'trian'"):
        load_mnist("trian", root=tmp_path)
    with pytest.raises(ValueError, match="split must be"):
        load_fashion_mnist("validation")


# ---------------------------------------------------------------------------- data by name


def test_load_data_by_name_and_folder(isolated):
    folder = isolated / "debian"
    folder.mkdir()
    _write_mnist(folder, n=3)
    for spec in ("fashion", "fashion-mnist", f"fashion:{folder}", f"mnist:{folder}"):
        train, test = load_data(spec)
        assert train.x.shape == (3, 1, 28, 28) and test.x.shape == (3, 1, 28, 28), spec
    with pytest.raises(FileNotFoundError, match="genlearn data fetch mnist"):
        load_data("mnist")
    train, test = load_data("digits")
    assert train.x.shape == (1500, 1, 8, 8) and test.x.shape == (297, 1, 8, 8)
    a, b = load_data("moons", seed=3), load_data("moons", seed=3)
    assert a[0].x.shape == (1500, 1, 16, 16) and torch.equal(a[0].x, b[0].x)
    for bad in ("cifar", "mnist:", "digits:x"):
        with pytest.raises(ValueError, match="unknown data"):
            load_data(bad)


