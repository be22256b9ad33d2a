"""A checkpoint logged by a family whose class lives in one module loads in a process where that
module no longer exists (the class moved): checkpoints are rebuilt through the registry."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.conftest import ROOT, subprocess_env

FAMILY = textwrap.dedent('''
    from typing import Literal
    from vae_core.models.families import VAE, VAEConfig
    from vae_core.models import registry

    class MovedVAEConfig(VAEConfig):
        family: Literal["moved_vae"] = "moved_vae"

    class MovedVAE(VAE):
        pass

    def build(config, shape):
        encoder, decoder = registry.ARCHITECTURES[config.arch](config, shape, True)
        return MovedVAE(encoder, decoder, registry.build_likelihood(config.likelihood, config.sigma),
                        beta=config.beta)

    registry.FAMILIES["moved_vae"] = registry.Family(MovedVAEConfig, build)
''')

LOG = textwrap.dedent('''
    import torch, mlflow, old_home
    from vae_core.models import build_model, model_config
    from vae_core.tracking.checkpoints import log_checkpoint
    torch.manual_seed(0)
    model = build_model(model_config({"family": "moved_vae", "latent_size": 2, "beta": 2.0}), (1, 8, 8))
    mlflow.set_experiment("moves")
    with mlflow.start_run() as run:
        model_id = log_checkpoint(model, run.info.run_id, 3)
    x = torch.rand(4, 1, 8, 8)
    torch.save(x, "x.pt")
    model.eval()
    with torch.no_grad():
        torch.save(model.encode(x)[0], "mu.pt")
    print(model_id)
''')

LOAD = textwrap.dedent('''
    import sys, torch, new_home
    from vae_core.tracking.checkpoints import load_model
    model = load_model(sys.argv[1])
    assert type(model).__module__ == "new_home", type(model).__module__
    with torch.no_grad():
        torch.testing.assert_close(model.encode(torch.load("x.pt"))[0], torch.load("mu.pt"))
    assert model.config.beta == 2.0
    print("loaded")
''')


def test_a_checkpoint_loads_after_its_class_moved(tmp_path, tracking_uri):
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    (tmp_path / "old" / "old_home.py").write_text(FAMILY)
    (tmp_path / "new" / "new_home.py").write_text(FAMILY)
    env = subprocess_env(MLFLOW_TRACKING_URI=tracking_uri)
    logged = subprocess.run([sys.executable, "-c", LOG], cwd=tmp_path, capture_output=True, text=True,
                            env={**env, "PYTHONPATH": f"{ROOT}:{tmp_path / 'old'}"}, timeout=300)
    assert logged.returncode == 0, logged.stderr
    model_id = logged.stdout.strip().splitlines()[-1]
    loaded = subprocess.run([sys.executable, "-c", LOAD, model_id], cwd=tmp_path, capture_output=True,
                            text=True, env={**env, "PYTHONPATH": f"{ROOT}:{tmp_path / 'new'}"}, timeout=300)
    assert loaded.returncode == 0, loaded.stderr
    assert "loaded" in loaded.stdout
