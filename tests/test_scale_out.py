"""Scale-out: bsdl's parallel loops run on a dask cluster through joblib's dask backend.

A ``LocalCluster`` of two worker processes (loopback, no dashboard) stands in for a real
cluster. Under ``joblib.parallel_config(backend="dask")`` the restarts of an estimator and
the (series x seed) tasks of ``compare_intervals`` must run on the workers (seen in the
scheduler's task stream) and give exactly the numbers of ``n_jobs=1``: every task carries
its own seed, so where it runs must not matter.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
import pytest

dask_distributed = pytest.importorskip("dask.distributed")
joblib = pytest.importorskip("joblib")

from bsdl import SparseMLPRegressor  # noqa: E402
from bsdl.compare import compare_intervals  # noqa: E402
from bsdl.datasets import make_ar, make_sparse_regression  # noqa: E402

MLP = dict(hidden_layer_sizes=(8,), n_restarts=2, n_epochs=30, lr=1e-2, random_state=0)
RNN = dict(lags=4, window=4, n_epochs=20)


@pytest.fixture(scope="module")
def client():
    """Two single-threaded worker processes on 127.0.0.1; closed after the module."""
    cluster = dask_distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=":0",  # a free loopback port: never collides with a running one
        silence_logs=logging.ERROR,
    )
    client = dask_distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _keys_run(stream) -> list[str]:
    return [str(t["key"]) for t in stream.data]


def _fit(n_jobs, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # informative sparsity warnings of a tiny fit
        return SparseMLPRegressor(n_jobs=n_jobs, **MLP).fit(X, y)


@pytest.fixture(scope="module")
def mlp_data():
    X, y = make_sparse_regression(300, 6, random_state=0)
    X_new, _ = make_sparse_regression(40, 6, random_state=1)
    return X, y, X_new


@pytest.fixture(scope="module")
def mlp_reference(mlp_data):
    X, y, _ = mlp_data
    return _fit(1, X, y)


@pytest.mark.parametrize("n_jobs", [2, None])
def test_restarts_on_dask_equal_sequential(client, mlp_data, mlp_reference, n_jobs):
    X, y, X_new = mlp_data
    with dask_distributed.get_task_stream(client) as stream:
        with joblib.parallel_config(backend="dask"):
            model = _fit(n_jobs, X, y)
    # the two restarts went to the workers (n_jobs=None defers to the active config)
    assert sum("run_restart" in k for k in _keys_run(stream)) >= 1, _keys_run(stream)
    ref = mlp_reference
    assert len(ref.restarts_) == 2
    pd.testing.assert_frame_equal(model.restarts_, ref.restarts_, check_exact=True)
    np.testing.assert_array_equal(model.predict(X_new), ref.predict(X_new))
    pd.testing.assert_frame_equal(
        model.predict_interval(X_new, alpha=0.1).to_frame(),
        ref.predict_interval(X_new, alpha=0.1).to_frame(),
        check_exact=True,
    )


def test_without_config_restarts_stay_local(client, mlp_data):
    """n_jobs=None and no parallel_config: joblib's default resolves to one job, no task."""
    X, y, _ = mlp_data
    with dask_distributed.get_task_stream(client) as stream:
        _fit(None, X, y)
    assert _keys_run(stream) == []


def test_compare_intervals_on_dask_equal_sequential(client):
    series = {
        "ar2": make_ar(240, {1: 0.6, 2: -0.3}, random_state=3),
        "ar1": make_ar(240, {1: 0.5}, random_state=4),
    }
    kwargs = dict(
        methods=["bsdl", "split", "enbpi"],
        alpha=0.1,
        n_seeds=1,
        rnn_params=RNN,
        n_bootstraps=2,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = compare_intervals(series, n_jobs=1, **kwargs)
        with dask_distributed.get_task_stream(client) as stream:
            with joblib.parallel_config(backend="dask"):
                par = compare_intervals(series, n_jobs=2, **kwargs)
    assert sum("_run_one" in k for k in _keys_run(stream)) >= 1, _keys_run(stream)
    assert len(ref) == 6 and ref.coverage.notna().all()
    # wall-clock seconds are the only column allowed to differ
    pd.testing.assert_frame_equal(
        par.drop(columns="seconds"), ref.drop(columns="seconds"), check_exact=True
    )
