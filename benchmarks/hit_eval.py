"""S2 evaluation cost of one model on CPU, and how it grows with the test-set size N.

Data: N distinct 28x28 images made from scikit-learn's 8x8 digits (resized to 20x20, placed at a
random offset in the 28x28 frame, plus N(0, 0.05) pixel noise, clipped to [0, 1]), with the
digits' 10 labels. Model: an HVAE (32 conv channels, 32-dim Gaussian z, y 32x4x4, Bernoulli
p(x|y)) after 3 epochs on 2,000 other such images, so its latents carry some label information;
classifier: the S2 image classifier after 3 epochs on those 2,000 images.

Stages timed per N, each N in a fresh process (peak memory is the rise of the resident set over
the stage: Linux VmHWM after malloc_trim and clearing it, with glibc's mmap threshold fixed so
freed buffers are not silently reused): encode (q means), I_q(z; L) (chunked Monte Carlo),
probes on mu_z, probes on flattened mu_y (512 dimensions), sample quality (N prior samples,
classifier IS, diversity, sharpness, Fréchet distance on classifier features), reconstructions
(PSNR) and the 10-sample importance-weighted bound. Reference: the same I_q(z; L) formula with
the whole N x N log-density matrix in memory at once.
Run: python benchmarks/hit_eval.py [--sizes 1000 5000 10000] [--threads 1]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TRAIN_EPOCHS = 3
IWAE_SAMPLES = 10
STAGES = ("encode", "mi_z", "probes_z", "probes_y", "sample_quality", "recon_iwae")


def _peak_rss_reset() -> None:
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # hand freed heap back, so new buffers raise the resident set
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")  # resets VmHWM to the current resident set


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _measured(function):
    """(result, seconds, peak MB above the resident set at the start)."""
    _peak_rss_reset()
    start_rss, start = _status_mb("VmRSS"), time.perf_counter()
    result = function()
    return result, time.perf_counter() - start, _status_mb("VmHWM") - start_rss


def hard_digits(n: int, seed: int):
    """N distinct 28x28 digit images in [0, 1] and their labels (see the module docstring)."""
    import numpy as np
    import torch
    from sklearn.datasets import load_digits

    from vae_core.data.embedded import resize_images

    rng = np.random.default_rng(seed)
    digits = load_digits()
    index = rng.integers(0, len(digits.images), n)
    small = resize_images(torch.tensor(digits.images[index] / 16.0, dtype=torch.float32).unsqueeze(1), 20)
    images = torch.zeros(n, 1, 28, 28)
    offsets = rng.integers(0, 9, (n, 2))
    for i, (row, col) in enumerate(offsets):
        images[i, :, row:row + 20, col:col + 20] = small[i]
    noise = torch.tensor(rng.normal(0, 0.05, images.shape), dtype=torch.float32)
    return (images + noise).clamp_(0, 1), digits.target[index]


def _batched(function, x, size=500):
    import torch
    return torch.cat([function(batch) for batch in x.split(size)])


def _reference_mi(mu, logvar, samples, labels) -> float:
    """The estimator with the full N x N matrix of log q(z_j|x_i) held at once."""
    import torch

    from vae_core.analysis.rates import gaussian_log_density_rows
    log_q = gaussian_log_density_rows(mu, logvar)(samples)
    labels = torch.as_tensor(labels)
    total = 0.0
    for label in labels.unique():
        rows = labels == label
        within = log_q[rows][:, rows].logsumexp(1) - math.log(int(rows.sum()))
        total += float((within - log_q[rows].logsumexp(1) + math.log(len(labels))).sum())
    return total / len(labels)


def worker(n: int, reference: bool) -> dict:
    import numpy as np
    import torch

    from vae_core.analysis.classifier_scores import classifier_frechet_distance, inception_score
    from vae_core.analysis.probes import probe_accuracies
    from vae_core.analysis.rates import gaussian_label_information, likelihood_bounds, reconstruction_scores
    from vae_core.models.classifier import train_classifier
    from vae_core.models.hierarchical_spec import HierarchicalSpec, build_hierarchical

    torch.manual_seed(0)
    x, labels = hard_digits(n, seed=1)
    train_x, train_y = hard_digits(2000, seed=2)
    classifier = train_classifier(train_x, torch.tensor(train_y), epochs=3, seed=0, batch_size=64)
    model = build_hierarchical(HierarchicalSpec(conv_channels=32, z_dims=32), (1, 28, 28))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(TRAIN_EPOCHS):  # so that the latents carry some label information
        for batch in train_x.split(100):
            optimizer.zero_grad()
            model(batch).loss.backward()
            optimizer.step()
    model.eval()
    out: dict = {"n": n, "metrics": {}}

    if reference:
        mu, logvar = (_batched(lambda b, i=i: model.encode(b)[i].detach(), x) for i in (0, 1))
        noise = torch.randn(mu.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        samples = mu.double() + (0.5 * logvar.double()).exp() * noise  # gaussian_label_information's draws
        value, seconds, peak = _measured(lambda: _reference_mi(mu, logvar, samples, labels))
        return {"n": n, "reference_mi": {"seconds": seconds, "peak_mb": peak, "value": value}}

    def encode():
        parts = [model.posterior(b) for b in x.split(500)]
        return [torch.cat([getattr(p, f) for p in parts]) for f in ("z_mean", "z_logvar", "y_mean")]
    (z_mean, z_logvar, y_mean), out["encode"], out["encode_mb"] = _measured(encode)
    stages = {
        "mi_z": lambda: gaussian_label_information(z_mean, z_logvar, labels),
        "probes_z": lambda: probe_accuracies(z_mean.numpy(), labels, "z"),
        "probes_y": lambda: probe_accuracies(y_mean.numpy(), labels, "y"),
        "sample_quality": lambda: _sample_quality(model, classifier, x, inception_score,
                                                  classifier_frechet_distance),
        "recon_iwae": lambda: {
            **reconstruction_scores(x, _batched(model.reconstruct, x)),
            **likelihood_bounds(torch.cat([model.log_weights(b, IWAE_SAMPLES) for b in x.split(250)], 1))},
    }
    for name, stage in stages.items():
        metrics, out[name], out[f"{name}_mb"] = _measured(stage)
        out["metrics"].update({k: float(v) for k, v in metrics.items() if np.isscalar(v)})
    return out


def _sample_quality(model, classifier, x, inception_score, classifier_frechet_distance) -> dict:
    import torch
    generator = torch.Generator().manual_seed(0)
    samples = torch.cat([model.sample(len(b), generator) for b in x.split(500)])
    real_features, _ = classifier.embed_and_classify(x)
    fake_features, fake_probabilities = classifier.embed_and_classify(samples)
    return {**inception_score(fake_probabilities.numpy()),
            **classifier_frechet_distance(real_features.numpy(), fake_features.numpy())}


def _run(n: int, reference: bool, threads: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads),
           "MALLOC_MMAP_THRESHOLD_": "65536"}  # fixed: buffers of 64 KB and up are fresh mappings
    command = [sys.executable, __file__, "--worker", str(n)] + (["--reference"] if reference else [])
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--worker", type=int)
    parser.add_argument("--reference", action="store_true")
    args = parser.parse_args()
    if args.worker:
        import torch
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
        print(json.dumps(worker(args.worker, args.reference)))
        return
    print(f"S2 evaluation of one briefly trained HVAE (c=32, z=32) on CPU, {args.threads} thread(s), "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    columns = ["N", *STAGES, "total", "MI MB", "ref MI s", "ref MI MB", "MI t ratio", "MI MB ratio"]
    print(" ".join(f"{c:>11}" for c in columns))
    for n in args.sizes:
        ours, ref = _run(n, False, args.threads), _run(n, True, args.threads)["reference_mi"]
        values = [ours[s] for s in STAGES]
        values += [sum(values), ours["mi_z_mb"], ref["seconds"], ref["peak_mb"],
                   ref["seconds"] / ours["mi_z"], ref["peak_mb"] / max(ours["mi_z_mb"], 1e-9)]
        print(f"{n:>11} " + " ".join(f"{v:>11.2f}" for v in values))
        print(f"{'':>11} peak MB per stage: " + ", ".join(f"{s} {ours[f'{s}_mb']:.0f}" for s in STAGES))
        print(f"{'':>11} I_q(z;L) ours {ours['metrics']['mi.z_label']:.6f}, reference {ref['value']:.6f}; "
              + ", ".join(f"{k}={v:.3g}" for k, v in ours["metrics"].items() if k != "mi.z_label"))
    print("seconds per stage; MB = peak rise of the resident set during the stage (reference: the same\n"
          "estimator holding the whole N x N log-density matrix). The machine is shared: timings are noisy.")


if __name__ == "__main__":
    main()
