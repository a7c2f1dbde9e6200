"""The mixtures and the IDX reader, on tiny files the tests write themselves."""

import gzip
import struct

import numpy as np
import pytest
import torch

from ganlib import data


def write_idx(path, array: np.ndarray, magic_type: int = 0x08, truncate: int = 0):
    header = struct.pack(">HBB", 0, magic_type, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    if truncate:
        raw = raw[:-truncate]
    with gzip.open(path, "wb") as f:
        f.write(raw)


def write_split(root, split="train", n=5, **kw):
    imgs, labels = data._IDX_FILES[split]
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28))
    write_idx(root / imgs, images, **kw)
    write_idx(root / labels, np.arange(n) % 10)
    return images


def test_ring8_and_grid25_have_the_standard_geometry():
    ring, grid = data.ring8(), data.grid25()
    assert ring.centers.shape == (8, 2) and grid.centers.shape == (25, 2)
    assert torch.allclose(ring.centers.norm(dim=1), torch.full((8,), 2.0))
    assert (ring.std, grid.std) == (0.02, 0.05)
    assert sorted(set(grid.centers[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    x, k = grid.sample(20_000, generator=torch.Generator().manual_seed(0))
    assert torch.bincount(k, minlength=25).min() > 600  # every mode is drawn
    assert (x - grid.centers[k]).std().item() == pytest.approx(0.05, rel=0.05)


def test_reads_good_idx_files(tmp_path):
    images = write_split(tmp_path, "test", n=7)
    ds = data.fashion_mnist("test", root=tmp_path)
    assert ds.images.shape == (7, 1, 28, 28) and ds.images.dtype == torch.uint8
    assert np.array_equal(ds.images[:, 0].numpy(), images)
    assert ds.labels.tolist() == list(range(7))
    x, y = ds.sample(4)
    assert x.min() >= -1 and x.max() <= 1 and x.dtype == torch.float32


def test_truncated_idx_file_is_a_clear_error(tmp_path):
    write_split(tmp_path, "test", truncate=10)
    with pytest.raises(ValueError, match="truncated"):
        data.fashion_mnist("test", root=tmp_path)


def test_wrong_magic_number_is_a_clear_error(tmp_path):
    write_split(tmp_path, "test", magic_type=0x0D)  # float data, not unsigned bytes
    with pytest.raises(ValueError, match="magic number"):
        data.fashion_mnist("test", root=tmp_path)


def test_corrupt_gzip_is_a_clear_error(tmp_path):
    write_split(tmp_path, "test")
    path = tmp_path / data._IDX_FILES["test"][0]
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(ValueError, match="corrupt"):
        data.fashion_mnist("test", root=tmp_path)


def test_missing_dataset_names_all_three_ways(tmp_path, monkeypatch):
    monkeypatch.setenv("GANLIB_DATA", str(tmp_path / "nowhere"))
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")
    with pytest.raises(FileNotFoundError) as e:
        data.fashion_mnist("train", root=tmp_path / "empty")
    msg = str(e.value)
    assert "apt-get install dataset-fashion-mnist" in msg
    assert "GANLIB_DATA" in msg and "download=True" in msg


def test_an_earlier_download_is_found_without_downloading_again(tmp_path, monkeypatch):
    monkeypatch.delenv("GANLIB_DATA", raising=False)
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(FileNotFoundError):
        data.fashion_mnist("test")
    raw = tmp_path / "home" / ".cache" / "ganlib" / "FashionMNIST" / "raw"  # torchvision's
    raw.mkdir(parents=True)
    images = write_split(raw, "test")
    assert (data.fashion_mnist("test").images[:, 0].numpy() == images).all()
    other = tmp_path / "mine"  # a root given to download=True: its own download folder
    (other / "FashionMNIST" / "raw").mkdir(parents=True)
    write_split(other / "FashionMNIST" / "raw", "test", n=3)
    assert len(data.fashion_mnist("test", root=other)) == 3


def test_unknown_split():
    with pytest.raises(ValueError, match="'train' or 'test'"):
        data.fashion_mnist("validation")
