"""import-checkpoint: a file served over HTTP on loopback, fetched by DVC, registered in MLflow."""

from __future__ import annotations

import functools
import http.server
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch
import yaml

from tests.conftest import run_cli
from vae_core.models import build_model, model_config
from vae_core.tracking.checkpoints import load_model
from vae_core.tracking.queries import registered_versions


@pytest.fixture
def served(tmp_path):
    """A checkpoint {model_config, sample_shape, state_dict} behind http://127.0.0.1:<port>/."""
    folder = tmp_path / "www"
    folder.mkdir()
    torch.manual_seed(3)
    spec = model_config(dict(family="vae", arch="mlp", latent_size=3, n_layers=2))
    model = build_model(spec, (64,))
    torch.save({"model_config": spec.model_dump(), "sample_shape": [64], "state_dict": model.state_dict()},
               folder / "vae.pt")
    torch.save({"weights": model.state_dict()}, folder / "bare.pt")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", model
    server.shutdown()


def test_an_http_checkpoint_becomes_a_dvc_tracked_registered_model(served, workdir, tracking_uri):
    base, model = served
    subprocess.run(["git", "init", "-q"], cwd=workdir, check=True)
    dvc = subprocess.run([str(Path(sys.executable).with_name("dvc")), "init", "-q"],
                         cwd=workdir, capture_output=True, text=True)
    assert dvc.returncode == 0, dvc.stderr
    done = run_cli("import-checkpoint", "--url", f"{base}/vae.pt", "--name", "imported_vae",
                   "--out", "models/vae.pt", cwd=workdir, env={"MLFLOW_TRACKING_URI": tracking_uri})
    assert done.returncode == 0, done.stderr
    record = yaml.safe_load((workdir / "models" / "vae.pt.dvc").read_text())
    assert record["deps"][0]["path"] == f"{base}/vae.pt"
    loaded = load_model("models:/imported_vae@imported")
    for (name, a), b in zip(loaded.state_dict().items(), model.state_dict().values()):
        assert torch.equal(a, b), name
    versions = registered_versions("imported_vae")
    assert versions.loc[0, "tag.vae.source_url"] == f"{base}/vae.pt"
    assert versions.loc[0, "tag.dvc.md5"] == record["outs"][0]["md5"]
    bad = run_cli("import-checkpoint", "--url", f"{base}/bare.pt", "--name", "imported_vae",
                  "--out", "models/bare.pt", cwd=workdir, env={"MLFLOW_TRACKING_URI": tracking_uri})
    assert bad.returncode == 2 and "lacks model_config, sample_shape, state_dict" in bad.stderr
    assert len(registered_versions("imported_vae")) == 1
