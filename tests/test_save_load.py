"""Saving and loading fitted estimators (safetensors + JSON, never pickle)."""

from __future__ import annotations

import ast
import json
import pickle
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import save_file

import bsdl
from bsdl import MixtureGaussianPrior, SparseMLPClassifier, SparseMLPRegressor
from bsdl.exceptions import ModelFileError
from bsdl.inference import PriorAnnealing


# ----------------------------------------------------------------------------- helpers
def _read_header(path: Path) -> tuple[dict, bytes]:
    """safetensors layout: u64 little-endian header length, JSON header, tensor bytes."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n]), raw[8 + n :]


def _write_header(path: Path, header: dict, data: bytes) -> None:
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)  # safetensors pads the header to 8 bytes
    path.write_bytes(struct.pack("<Q", len(blob)) + blob + data)


def _edit_metadata(path: Path, key: str, edit) -> None:
    header, data = _read_header(path)
    header["__metadata__"][key] = edit(header["__metadata__"][key])
    _write_header(path, header, data)


def _assert_same_intervals(a, b):
    for attr in ("mean", "se", "lower", "upper"):
        np.testing.assert_array_equal(getattr(a, attr), getattr(b, attr), err_msg=attr)


def _assert_same_params(a, b):
    p, q = a.get_params(deep=False), b.get_params(deep=False)
    assert p.keys() == q.keys()
    for key in p:
        if isinstance(p[key], MixtureGaussianPrior):
            assert q[key].to_dict() == p[key].to_dict()
        elif isinstance(p[key], PriorAnnealing):
            assert repr(q[key]) == repr(p[key])
        else:
            assert q[key] == p[key], key


@pytest.fixture
def saved_regressor(fitted_regressor, tmp_path):
    return fitted_regressor.save(tmp_path / "reg.safetensors")


# ----------------------------------------------------------------------------- round trips
def test_regressor_round_trip(fitted_regressor, reg_data, saved_regressor):
    _, _, X_new, _ = reg_data
    assert isinstance(saved_regressor, Path) and saved_regressor.is_file()
    loaded = bsdl.load(saved_regressor)
    assert type(loaded) is SparseMLPRegressor
    np.testing.assert_array_equal(loaded.predict(X_new), fitted_regressor.predict(X_new))
    for kind in ("prediction", "confidence"):
        _assert_same_intervals(
            loaded.predict_interval(X_new, alpha=0.1, kind=kind),
            fitted_regressor.predict_interval(X_new, alpha=0.1, kind=kind),
        )
    _assert_same_params(loaded, fitted_regressor)
    np.testing.assert_array_equal(loaded.selected_features_, fitted_regressor.selected_features_)
    assert loaded.selected_features_.dtype == fitted_regressor.selected_features_.dtype
    for name in (
        "sigma_",
        "bic_",
        "log_evidence_",
        "sparsity_",
        "n_nonzero_",
        "n_obs_",
        "n_features_in_",
    ):
        assert getattr(loaded, name) == getattr(fitted_regressor, name), name
    for key, mask in fitted_regressor.mask_.items():
        np.testing.assert_array_equal(loaded.mask_[key], mask)
    assert str(loaded.summary()) == str(fitted_regressor.summary())


def test_fitted_frames_round_trip(fitted_regressor, saved_regressor):
    """history_ and restarts_ come back with their index (name included), dtypes and values
    (to 1e-12: a JSON float written with 15+ significant digits)."""
    loaded = bsdl.load(saved_regressor)
    for name in ("restarts_", "history_"):
        pd.testing.assert_frame_equal(
            getattr(loaded, name),
            getattr(fitted_regressor, name),
            rtol=1e-12,
            atol=0,
            obj=name,
        )


def test_round_trip_with_str_path_and_custom_params(reg_data, tmp_path):
    X, y, X_new, _ = reg_data
    est = SparseMLPRegressor(
        (3, 2),
        prior=MixtureGaussianPrior(1e-4, 0.02, 1.0),
        annealing=PriorAnnealing(warmup=1, ramp=0.2, anneal=3),
        n_epochs=10,
        random_state=5,
    ).fit(X, y)
    path = str(tmp_path / "custom.bsdl")
    est.save(path)
    loaded = bsdl.load(path)
    _assert_same_params(loaded, est)
    np.testing.assert_array_equal(loaded.predict(X_new), est.predict(X_new))
    # a loaded estimator is an ordinary estimator: it can be refitted
    loaded.fit(X, y)
    np.testing.assert_array_equal(loaded.predict(X_new), est.predict(X_new))


def test_dataframe_feature_names_round_trip(fitted_regressor_df, reg_frame, tmp_path):
    _, _, X_new = reg_frame
    loaded = bsdl.load(fitted_regressor_df.save(tmp_path / "df.safetensors"))
    np.testing.assert_array_equal(loaded.feature_names_in_, fitted_regressor_df.feature_names_in_)
    np.testing.assert_array_equal(loaded.predict(X_new), fitted_regressor_df.predict(X_new))
    with pytest.raises(ValueError, match="feature names"):
        loaded.predict(X_new.rename(columns={"x2": "other"}))
    assert str(loaded.summary()) == str(fitted_regressor_df.summary())


@pytest.mark.parametrize("which", ["fitted_classifier", "fitted_multiclass"])
def test_classifier_round_trip(which, request, clf_data, multiclass_data, tmp_path):
    est = request.getfixturevalue(which)
    X_new = (clf_data if which == "fitted_classifier" else multiclass_data)[2]
    loaded = bsdl.load(est.save(tmp_path / "clf.safetensors"))
    assert type(loaded) is SparseMLPClassifier
    np.testing.assert_array_equal(loaded.classes_, est.classes_)
    assert loaded.classes_.dtype == est.classes_.dtype
    np.testing.assert_array_equal(loaded.predict(X_new), est.predict(X_new))
    np.testing.assert_array_equal(loaded.predict_proba(X_new), est.predict_proba(X_new))
    _assert_same_intervals(loaded.predict_interval(X_new), est.predict_interval(X_new))


def test_load_never_unpickles(saved_regressor, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("bsdl.load used pickle")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    bsdl.load(saved_regressor)


def test_io_module_does_not_import_pickle():
    import bsdl.models.io as io_module

    tree = ast.parse(Path(io_module.__file__).read_text())
    imported, names, attributes = set(), set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
        elif isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            attributes.add(f"{node.value.id}.{node.attr}")
    unpicklers = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve"}
    assert not imported & unpicklers
    assert not names & unpicklers
    assert not attributes & {"torch.load", "np.load", "numpy.load", "pd.read_pickle"}


# ----------------------------------------------------------------------------- bad files
def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        bsdl.load(tmp_path / "nope.safetensors")
    with pytest.raises(FileNotFoundError):
        bsdl.load(tmp_path)  # a directory is not a model file


def test_flipped_tensor_byte_is_detected(saved_regressor):
    header, data = _read_header(saved_regressor)
    # flip one byte inside every tensor in turn (each edit on a fresh copy)
    original = saved_regressor.read_bytes()
    offset = len(original) - len(data)
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    assert any(k.startswith("module_/") for k in tensors)
    for name in ("module_/linears.0.weight", "_covariance", "x_mean_"):
        start, end = tensors[name]["data_offsets"]
        raw = bytearray(original)
        raw[offset + (start + end) // 2] ^= 0x01
        saved_regressor.write_bytes(bytes(raw))
        with pytest.raises(ModelFileError, match="integrity"):
            bsdl.load(saved_regressor)


@pytest.mark.parametrize(
    "key, edit",
    [
        ("params", lambda s: s.replace('"n_epochs": 60', '"n_epochs": 61')),
        ("attrs", lambda s: s.replace('"value": 500', '"value": 501')),  # n_obs_
        ("class", lambda s: "SparseMLPClassifier"),
        ("bsdl_version", lambda s: s + ".post1"),
    ],
)
def test_edited_metadata_is_detected(saved_regressor, key, edit):
    header, _ = _read_header(saved_regressor)
    before = header["__metadata__"][key]
    _edit_metadata(saved_regressor, key, edit)
    assert _read_header(saved_regressor)[0]["__metadata__"][key] != before  # edit took effect
    with pytest.raises(ModelFileError):
        bsdl.load(saved_regressor)


def test_removed_checksum_is_detected(saved_regressor):
    header, data = _read_header(saved_regressor)
    del header["__metadata__"]["checksum"]
    _write_header(saved_regressor, header, data)
    with pytest.raises(ModelFileError):
        bsdl.load(saved_regressor)


def test_unmodified_rewrite_still_loads(saved_regressor):
    """Sanity check of the helpers above: rewriting the header unchanged is not tampering."""
    header, data = _read_header(saved_regressor)
    _write_header(saved_regressor, header, data)
    bsdl.load(saved_regressor)


def test_truncated_file(saved_regressor):
    raw = saved_regressor.read_bytes()
    saved_regressor.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ModelFileError):
        bsdl.load(saved_regressor)


def test_foreign_files(tmp_path):
    rng = np.random.default_rng(0)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(rng.integers(0, 256, size=4096, dtype=np.uint8).tobytes())
    with pytest.raises(ModelFileError):
        bsdl.load(junk)
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    with pytest.raises(ModelFileError):
        bsdl.load(empty)
    text = tmp_path / "model.json"
    text.write_text('{"format": "bsdl"}')
    with pytest.raises(ModelFileError):
        bsdl.load(text)
    # a valid safetensors file that is not a bsdl model
    plain = tmp_path / "plain.safetensors"
    save_file({"weight": torch.zeros(3, 2)}, str(plain))
    with pytest.raises(ModelFileError, match="not a bsdl model"):
        bsdl.load(plain)
    with_meta = tmp_path / "meta.safetensors"
    save_file({"weight": torch.zeros(3)}, str(with_meta), metadata={"format": "other"})
    with pytest.raises(ModelFileError):
        bsdl.load(with_meta)


def test_forged_file_with_valid_checksum_but_unknown_class(saved_regressor):
    """A file that passes the checksum (recomputed by a forger) still cannot name any class."""
    from bsdl.models.io import _checksum

    header, data = _read_header(saved_regressor)
    meta = header["__metadata__"]
    meta["class"] = "os.system"
    del meta["checksum"]
    from safetensors.torch import load_file

    tensors = load_file(str(saved_regressor))
    meta["checksum"] = _checksum(tensors, meta)
    _write_header(saved_regressor, header, data)
    with pytest.raises(ModelFileError, match="unknown estimator class"):
        bsdl.load(saved_regressor)
