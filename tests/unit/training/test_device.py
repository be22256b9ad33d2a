"""Device, precision and on-device loss sums: cpu training is exactly a bare PyTorch loop's,
an absent device is refused before any run, bf16 trains, the NaN guard names the first bad term."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from vae_core.config import ConfigError, typed
from vae_core.data import load_dataset
from vae_core.experiment import ExperimentConfig
from vae_core.models import build_model, model_config
from vae_core.training import NonFiniteLossError, Trainer, TrainerConfig
from vae_core.training.term_sums import TermSums

NO_CUDA = not torch.cuda.is_available()
FAMILY = dict(latent_size=3)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", seed=0)


def bare_loop(data, epochs: int, batch_size: int, seed: int) -> tuple[dict, dict]:
    """What the trainer promises, written out: seeded model and shuffles, Adam, per-epoch means
    of Python floats, evaluation under a fixed noise seed."""
    torch.manual_seed(seed)
    model = build_model(model_config(FAMILY), data.sample_shape)
    torch.manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    shuffle = torch.Generator().manual_seed(seed)

    def evaluate(x):
        model.eval()
        sums = {}
        with torch.no_grad(), torch.random.fork_rng():
            torch.manual_seed(seed + 1)
            for batch in x.split(batch_size):
                for name, value in model(batch).terms().items():
                    sums[name] = sums.get(name, 0.0) + float(value) * batch.shape[0]
        model.train()
        return {name: total / x.shape[0] for name, total in sums.items()}

    history = {0: evaluate(data.val)}
    for epoch in range(1, epochs + 1):
        sums = {}
        for idx in torch.randperm(data.train.shape[0], generator=shuffle).split(batch_size):
            output = model(data.train[idx])
            optimizer.zero_grad()
            output.loss.backward()
            optimizer.step()
            for name, value in output.terms().items():
                sums[name] = sums.get(name, 0.0) + float(value) * len(idx)
        history[epoch] = {**{f"train/{k}": v / data.train.shape[0] for k, v in sums.items()},
                          **{f"val/{k}": v for k, v in evaluate(data.val).items()}}
    history[0] = {f"val/{k}": v for k, v in history[0].items()}
    return history, model.state_dict()


def test_cpu_training_is_exactly_the_bare_loop(digits):
    expected, weights = bare_loop(digits, epochs=2, batch_size=100, seed=3)
    torch.manual_seed(3)
    model = build_model(model_config(FAMILY), digits.sample_shape)
    trainer = Trainer(model, digits, TrainerConfig(epochs=2, batch_size=100, seed=3, device="cpu"))
    trainer.fit()
    for epoch, values in expected.items():
        got = trainer.history[epoch]
        assert {k: got[k] for k in values} == values  # exact: same floats, same order of sums
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, weights[name]), name


def test_bf16_on_cpu_trains_with_finite_losses_that_differ_from_fp32(digits):
    def run(precision: str) -> dict[str, float]:
        torch.manual_seed(0)
        model = build_model(model_config(FAMILY), digits.sample_shape)
        trainer = Trainer(model, digits, TrainerConfig(epochs=1, batch_size=256, device="cpu",
                                                       precision=precision))
        trainer.fit()
        return trainer.history[1]

    low, full = run("bf16"), run("32")
    assert all(torch.isfinite(torch.tensor(v)) for v in low.values())
    assert low["train/loss"] != full["train/loss"]  # autocast really ran at lower precision
    assert low["train/loss"] == pytest.approx(full["train/loss"], rel=0.05)


@pytest.mark.skipif(not NO_CUDA, reason="checks the refusal on a machine without CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_an_absent_device_is_refused_before_any_run_saying_what_was_found(device):
    with pytest.raises(ConfigError, match=r"device.*not on this machine \(found: cpu"):
        typed(TrainerConfig, {"device": device}, "train")
    with pytest.raises(ConfigError, match="device"):
        typed(ExperimentConfig, {"dataset": "digits", "device": device}, "train")
    from vae_core.studies.id_ii.analyze import GeometryConfig

    with pytest.raises(ConfigError, match=r"device.*not on this machine"):
        typed(GeometryConfig, {"device": device}, "geometry")
    assert typed(GeometryConfig, {"device": "cpu"}, "geometry").device == "cpu"


@pytest.mark.parametrize("values, message", [
    ({"device": "gpu"}, "'gpu' is not a device"),
    ({"precision": "16-mixed", "device": "cpu"}, "16-mixed needs a CUDA device"),
    ({"precision": "8"}, "precision"),
])
def test_bad_device_and_precision_are_refused_in_one_line(values, message):
    with pytest.raises(ConfigError, match=message) as error:
        typed(TrainerConfig, values, "train")
    assert "\n" not in str(error.value)


def test_precision_from_yaml_number_and_settings_recorded_in_the_flat_config():
    config = typed(ExperimentConfig, {"precision": 32, "device": "cpu", "compile": "false"}, "train")
    flat = config.flat()
    assert (flat["precision"], flat["device"], flat["compile"], flat["system_metrics"]) == \
        ("32", "cpu", False, True)


@dataclass
class Terms:
    values: dict[str, float]

    def terms(self) -> dict[str, torch.Tensor]:
        return {k: torch.tensor(v) for k, v in self.values.items()}


def test_term_sums_equal_python_float_sums_and_name_the_first_bad_term():
    steps = [({"loss": 1.25, "recon": 1.0, "kl": 0.25}, 7), ({"loss": 3.1, "recon": 3.0, "kl": 0.1}, 5)]
    sums = TermSums()
    for values, weight in steps:
        sums.add(Terms(values), weight, watch=True)
    sums.check_finite(epoch=1)  # all finite: no error
    for name in ("loss", "recon", "kl"):
        brute = sum(float(torch.tensor(v[name])) * w for v, w in steps) / 12
        assert sums.means("train")[f"train/{name}"] == brute
    bad = TermSums()
    bad.add(Terms({"loss": 1.0, "recon": 1.0, "kl": 0.0}), 2, watch=True)
    bad.add(Terms({"loss": float("inf"), "recon": 1.0, "kl": float("inf")}), 2, watch=True)
    bad.add(Terms({"loss": float("nan"), "recon": float("nan"), "kl": float("nan")}), 2, watch=True)
    with pytest.raises(NonFiniteLossError, match="'kl' became nan at epoch 4"):
        bad.check_finite(epoch=4)


@pytest.mark.skipif(NO_CUDA, reason="needs a CUDA GPU")
def test_training_on_cuda_equals_cpu_within_tolerance(digits):
    def run(device: str) -> tuple[dict[str, float], dict[str, torch.Tensor]]:
        torch.manual_seed(0)
        model = build_model(model_config(FAMILY), digits.sample_shape)
        trainer = Trainer(model, digits, TrainerConfig(epochs=2, batch_size=128, device=device))
        trainer.fit()
        assert next(model.parameters()).device.type == torch.device(device).type
        return trainer.history[2], {k: v.cpu() for k, v in model.state_dict().items()}

    (cpu, cpu_weights), (gpu, gpu_weights) = run("cpu"), run("cuda")
    assert gpu == pytest.approx(cpu, rel=1e-3)
    for name, tensor in cpu_weights.items():
        assert torch.allclose(gpu_weights[name], tensor, atol=1e-3, rtol=1e-2), name


@pytest.mark.skipif(NO_CUDA, reason="needs a CUDA GPU")
def test_a_checkpoint_saved_on_cuda_loads_on_cpu(tmp_path):
    from vae_core.tracking.checkpoints import checkpoint_dict, rebuild

    torch.manual_seed(0)
    model = build_model(model_config(FAMILY), (1, 8, 8)).to("cuda")
    path = tmp_path / "checkpoint.pt"
    torch.save({**checkpoint_dict(model, 3), "state_dict": model.state_dict()}, path)  # cuda tensors
    loaded = rebuild(torch.load(path, map_location="cpu", weights_only=True))
    x = torch.rand(5, 1, 8, 8)
    model.eval()
    with torch.no_grad():
        assert torch.allclose(loaded.encode(x)[0], model.encode(x.cuda())[0].cpu(), atol=1e-5)
