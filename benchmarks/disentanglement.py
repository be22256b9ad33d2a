"""All disentanglement metrics for an ensemble of models at disentanglement_lib's default sample
counts, on CPU, two ways:

- ours: `vae_core.analysis.disentanglement` (codes drawn in calls of up to 4096 images, the MI
  matrix from one joint histogram per factor, FactorVAE/BetaVAE batches represented in blocks,
  UDR's Spearman matrices as products of standardised ranks);
- reference: disentanglement_lib's loops re-implemented below (codes drawn 16 images a call and
  np.vstack'ed, one mutual_info_score per (code, factor), one representation call per 64-image
  FactorVAE batch and two per BetaVAE point, one scipy spearmanr per pair of dimensions).

DCI, SAP and explicitness fit the same scikit-learn models in both routes (GBT, LinearSVC,
LogisticRegression) on the same codes, so their values agree exactly; DCI's trees take minutes
per model, so by default they are timed on the first model only (--dci-models). BLAS runs one
thread in both routes (threadpoolctl): on a shared machine more threads only oversubscribe.

Data: the factor grid of `vae_core.data.shapes3d` (10 x 10 x 10 x 8 x 4 x 15 = 480,000 cells).
The 'images' handed to a model are its factor values in [0, 1] (rendering would cost both
routes the same); each model is a noisy monotone mixture of the factors into 10 latent
dimensions (6 each led by one factor plus up to 0.25 of each other, 1 mixing two factors, 1 noise,
1 weak (std < 0.05, pruned by FactorVAE; KL 0.001 for UDR), 1 of everything), with Gaussian
noise of std 0.05 drawn per call, so no two codes coincide. Counts: 10000 training and 5000
test codes; FactorVAE 10000 variance / 10000 train / 5000 eval batches of 64; BetaVAE
10000 / 5000 points of 2 x 64; UDR on 10000 shared images.
Usage: python benchmarks/disentanglement.py [--models 10] [--dci-models 1] [--n-jobs 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scipy.stats import ConstantInputWarning, entropy, spearmanr  # noqa: E402
from sklearn import svm  # noqa: E402
from sklearn.ensemble import GradientBoostingClassifier  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import mutual_info_score, roc_auc_score  # noqa: E402
from sklearn.preprocessing import MultiLabelBinarizer  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from vae_core.analysis import disentanglement as ours  # noqa: E402
from vae_core.data.shapes3d import Shapes3D  # noqa: E402

N_TRAIN, N_TEST, BATCH = 10000, 5000, 64


class FactorImages:
    """Shapes3D's factor grid; an 'image' is the (6, 1, 1) vector of factor indices / (size - 1)."""

    def __init__(self) -> None:
        self.shapes = Shapes3D()
        self.factor_names, self.factor_sizes = self.shapes.factor_names, self.shapes.factor_sizes
        self.discrete = self.shapes.discrete

    def factor_values(self, indices: np.ndarray) -> np.ndarray:
        return self.shapes.factor_values(indices)

    def render(self, indices: np.ndarray) -> np.ndarray:
        return (indices / (np.asarray(self.factor_sizes) - 1.0))[:, :, None, None]

    # disentanglement_lib's GroundTruthData interface, for the reference route
    def sample_factors(self, n: int, state: np.random.RandomState) -> np.ndarray:
        return np.stack([state.randint(s, size=n) for s in self.factor_sizes], axis=1)


class Model:
    """z = g(v[perm] @ W) + 0.05 noise, 10 dims; g monotone per dim."""

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        lead = np.eye(6)[rng.permutation(6)]
        mixing = np.concatenate([lead + 0.25 * rng.uniform(size=(6, 6)) * (1 - lead),
                                 np.array([[0.5, 0, 0, 0.5, 0, 0]]).T, np.zeros((6, 1)),
                                 0.01 * np.eye(6)[:, [1]], rng.uniform(size=(6, 1))], axis=1)
        self.mixing, self.noise = mixing, np.random.default_rng(seed + 1000)
        self.kl = np.array([1.0] * 8 + [0.001, 1.0])

    def represent(self, images: np.ndarray) -> np.ndarray:
        a = images.reshape(len(images), -1) @ self.mixing
        z = np.concatenate([np.tanh(2 * a[:, :3] - 1), a[:, 3:6] ** 3 + a[:, 3:6], a[:, 6:]], axis=1)
        return z + 0.05 * self.noise.normal(size=z.shape) * np.r_[np.ones(8), 0.0, 1.0]


# --- the reference route: disentanglement_lib's loops, arrays as (dims, points) like theirs ---
def ref_codes(data, represent, n, state, batch_size=16):
    representations = factors = None
    i = 0
    while i < n:
        m = min(n - i, batch_size)
        f = data.sample_factors(m, state)
        r = represent(data.render(f))
        factors = f if i == 0 else np.vstack((factors, f))
        representations = r if i == 0 else np.vstack((representations, r))
        i += m
    return representations.T, factors.T


def ref_discretize(target, num_bins=20):
    out = np.zeros_like(target)
    for i in range(target.shape[0]):
        out[i, :] = np.digitize(target[i, :], np.histogram(target[i, :], num_bins)[1][:-1])
    return out


def ref_mutual_info(mus, ys):
    m = np.zeros([mus.shape[0], ys.shape[0]])
    for i in range(mus.shape[0]):
        for j in range(ys.shape[0]):
            m[i, j] = mutual_info_score(ys[j, :], mus[i, :])
    return m


def ref_mig(mus, ys):
    m = ref_mutual_info(ref_discretize(mus), ys)
    h = np.array([mutual_info_score(ys[j, :], ys[j, :]) for j in range(ys.shape[0])])
    top = np.sort(m, axis=0)[::-1]
    return np.mean((top[0, :] - top[1, :]) / h)


def ref_dci(x_train, y_train, x_test, y_test):
    imp = np.zeros([x_train.shape[0], y_train.shape[0]])
    acc = []
    for i in range(y_train.shape[0]):
        model = GradientBoostingClassifier(random_state=0).fit(x_train.T, y_train[i, :])
        imp[:, i] = np.abs(model.feature_importances_)
        acc.append(np.mean(model.predict(x_test.T) == y_test[i, :]))
    per_code = 1.0 - entropy(imp.T + 1e-11, base=imp.shape[1])
    return np.sum(per_code * imp.sum(axis=1) / imp.sum()), np.mean(acc)


def ref_sap(mus, ys, mus_test, ys_test):
    s = np.zeros([mus.shape[0], ys.shape[0]])
    for i in range(mus.shape[0]):
        for j in range(ys.shape[0]):
            clf = svm.LinearSVC(C=0.01, class_weight="balanced").fit(mus[i, :, None], ys[j, :])
            s[i, j] = np.mean(clf.predict(mus_test[i, :, None]) == ys_test[j, :])
    s = np.sort(s, axis=0)
    return np.mean(s[-1, :] - s[-2, :])


def ref_modularity_explicitness(mus, ys, mus_test, ys_test):
    sq = np.square(ref_mutual_info(ref_discretize(mus), ys))
    top = np.max(sq, axis=1)
    modularity = 1.0 - (np.sum(sq, axis=1) - top) / (top * (sq.shape[1] - 1.0))
    modularity[top == 0.0] = 0.0
    mean, std = np.mean(mus, axis=1), np.std(mus, axis=1)
    train, test = (mus - mean[:, None]) / std[:, None], (mus_test - mean[:, None]) / std[:, None]
    aucs = []
    for i in range(ys.shape[0]):
        clf = LogisticRegression().fit(train.T, ys[i, :])
        mlb = MultiLabelBinarizer()
        aucs.append((roc_auc_score(mlb.fit_transform(ys[i, :, None]), clf.predict_proba(train.T)),
                     roc_auc_score(mlb.fit_transform(ys_test[i, :, None]), clf.predict_proba(test.T))))
    return np.mean(modularity), np.mean(aucs, axis=0)


def ref_factor_vae(data, represent, state):
    global_var = np.var(represent(data.render(data.sample_factors(N_TRAIN, state))), axis=0, ddof=1)
    active = np.sqrt(global_var) >= 0.05

    def votes(n):
        v = np.zeros((len(data.factor_sizes), global_var.shape[0]), dtype=np.int64)
        for _ in range(n):
            index = state.randint(len(data.factor_sizes))
            f = data.sample_factors(BATCH, state)
            f[:, index] = f[0, index]
            local = np.var(represent(data.render(f)), axis=0, ddof=1)
            v[index, np.argmin(local[active] / global_var[active])] += 1  # their pruned index
        return v

    train = votes(N_TRAIN)
    classifier = np.argmax(train, axis=0)
    evaluation = votes(N_TEST)
    return np.sum(evaluation[classifier, np.arange(evaluation.shape[1])]) / np.sum(evaluation)


def ref_beta_vae(data, represent, state):
    def points(n):
        x, y = np.zeros((n, 10)), np.zeros(n, dtype=np.int64)
        for i in range(n):
            y[i] = state.randint(len(data.factor_sizes))
            f1, f2 = data.sample_factors(BATCH, state), data.sample_factors(BATCH, state)
            f2[:, y[i]] = f1[:, y[i]]
            x[i] = np.mean(np.abs(represent(data.render(f1)) - represent(data.render(f2))), axis=0)
        return x, y

    model = LogisticRegression().fit(*points(N_TRAIN))
    return model.score(*points(N_TEST))


def ref_udr(codes, kls):
    reps = [(c - c.mean(0)) / c.std(0) * (k > 0.01) for c, k in zip(codes, kls)]
    m = len(reps)
    scores = np.zeros((m, m))
    for i in range(m):
        for j in range(m):
            if i == j:
                continue
            corr = np.abs(np.array([[spearmanr(reps[i][:, a], reps[j][:, b])[0]
                                     for b in range(reps[j].shape[1])] for a in range(reps[i].shape[1])]))
            corr = corr[kls[i] > 0.01][:, kls[j] > 0.01]
            scores[i, j] = (np.mean(np.nan_to_num(corr.max(0) ** 2 / corr.sum(0)))
                            + np.mean(np.nan_to_num(corr.max(1) ** 2 / corr.sum(1)))) / 2
    return [np.median(np.delete(scores[:, i], i)) for i in range(m)]


def timed(table, metric, route, function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    table[metric][route].append((time.perf_counter() - start, value))
    return value


def run_model(table, data, model, seed, with_dci, n_jobs):
    """Both routes on one model; the code-only metrics of both get our sampled codes."""
    rng, state = np.random.default_rng(seed), np.random.RandomState(seed)
    rep = model.represent
    train = timed(table, "sample codes", "ours", ours.sample_codes, rep, data, N_TRAIN, rng)
    test = timed(table, "sample codes", "ours", ours.sample_codes, rep, data, N_TEST, rng)
    timed(table, "sample codes", "reference", ref_codes, data, rep, N_TRAIN, state)
    timed(table, "sample codes", "reference", ref_codes, data, rep, N_TEST, state)
    t_codes, t_factors, s_codes, s_factors = train[0].T, train[1].T, test[0].T, test[1].T
    key = "disentanglement."
    timed(table, "MIG", "ours", lambda: ours.mig(*train)[key + "mig"])
    timed(table, "MIG", "reference", ref_mig, t_codes, t_factors)
    if with_dci:
        timed(table, "DCI", "ours",
              lambda: ours.dci(*train, *test, n_jobs=n_jobs)[key + "dci_disentanglement"])
        timed(table, "DCI", "reference", lambda: ref_dci(t_codes, t_factors, s_codes, s_factors)[0])
    timed(table, "SAP", "ours", lambda: ours.sap(*train, *test)[key + "sap"])
    timed(table, "SAP", "reference", ref_sap, t_codes, t_factors, s_codes, s_factors)
    timed(table, "modularity + explicitness", "ours",
          lambda: ours.modularity_explicitness(*train, *test)[key + "modularity"])
    timed(table, "modularity + explicitness", "reference",
          lambda: ref_modularity_explicitness(t_codes, t_factors, s_codes, s_factors)[0])
    timed(table, "FactorVAE", "ours",
          lambda: ours.factor_vae_score(rep, data, rng, num_train=N_TRAIN, num_eval=N_TEST,
                                        num_variance_estimate=N_TRAIN)[key + "factor_vae_eval"])
    timed(table, "FactorVAE", "reference", ref_factor_vae, data, rep, state)
    timed(table, "BetaVAE", "ours", lambda: ours.beta_vae_score(
        rep, data, rng, num_train=N_TRAIN, num_eval=N_TEST)[key + "beta_vae_eval"])
    timed(table, "BetaVAE", "reference", ref_beta_vae, data, rep, state)


def print_table(table, n_models):
    print(f"{'metric':<26}{'models':>7}{'ours s':>10}{'ref s':>10}{'ratio':>8}"
          f"{'ours value':>12}{'ref value':>12}")
    totals, without_dci = [0.0, 0.0], [0.0, 0.0]
    for metric, routes in table.items():
        mine, theirs = routes["ours"], routes["reference"]
        t_ours, t_ref = sum(t for t, _ in mine), sum(t for t, _ in theirs)
        totals = [totals[0] + t_ours, totals[1] + t_ref]
        if metric != "DCI":
            without_dci = [without_dci[0] + t_ours, without_dci[1] + t_ref]
        models = n_models if metric in ("sample codes", "UDR") else len(mine)
        values = [np.mean([np.mean(v) for _, v in r]) if metric != "sample codes" else np.nan
                  for r in (mine, theirs)]
        print(f"{metric:<26}{models:>7}{t_ours:>10.2f}{t_ref:>10.2f}{t_ref / t_ours:>8.1f}"
              f"{values[0]:>12.4f}{values[1]:>12.4f}")
    for name, (t_ours, t_ref) in (("total without DCI", without_dci), ("total", totals)):
        print(f"{name:<26}{'':>7}{t_ours:>10.2f}{t_ref:>10.2f}{t_ref / t_ours:>8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--dci-models", type=int, default=1, help="models DCI is timed on")
    parser.add_argument("--n-jobs", type=int, default=1, help="threads for our DCI trees")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)  # lbfgs/liblinear, both routes
    warnings.filterwarnings("ignore", category=ConstantInputWarning)  # the reference's zeroed dims
    with threadpool_limits(limits=1):  # one BLAS thread in both routes: no oversubscription
        run(args)


def run(args: argparse.Namespace) -> None:
    data = FactorImages()
    models = [Model(seed) for seed in range(args.models)]
    table = defaultdict(lambda: defaultdict(list))
    for seed, model in enumerate(models):
        run_model(table, data, model, seed, seed < args.dci_models, args.n_jobs)
        print(f"model {seed} done", file=sys.stderr, flush=True)
    factors = np.random.default_rng(99).integers(0, data.factor_sizes, (N_TRAIN, 6))
    codes = [m.represent(data.render(factors)) for m in models]
    kls = [m.kl for m in models]
    timed(table, "UDR", "ours", lambda: [s["disentanglement.udr"] for s in ours.udr(codes, kls)])
    timed(table, "UDR", "reference", ref_udr, codes, kls)
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"{args.models} models, CPU only, {len(os.sched_getaffinity(0))} cores, "
          f"load average {' '.join(load)} at the end (shared machine)")
    print_table(table, args.models)


if __name__ == "__main__":
    main()
