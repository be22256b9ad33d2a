"""Frey Face (S3): 1965 grey 28 x 20 frames of one face, read from Roweis' `frey_rawface.mat`.

The file holds one uint8 array `ff` of shape (560, 1965): each column is one image in row-major
order, so `ff.T.reshape(-1, 28, 20)` gives upright faces. It has no test split and the original
S3 code tested on images it had trained on; here a fixed seeded permutation cuts a test split off
first (the same for every run seed, so results of different seeds share one test set), and
frames that are pixel-for-pixel copies of an earlier frame are dropped before splitting, so no
image can sit in two splits even as a duplicate. No labels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vae_core.data.downloaded import SOURCES, DatasetMissingError, require_files
from vae_core.data.splits import DatasetSplits, split_train_val

FREY_FACE = SOURCES["frey_face"]
FREY_FACE_URL = "https://cs.nyu.edu/~roweis/data/frey_rawface.mat"
# No checksum is published for the file; fetch with md5=None and record the downloaded file's
# md5 in the data stage's lock file (DVC does this for its outputs).
FREY_FACE_MD5: str | None = None
FREY_FACE_SHAPE = (28, 20)
TEST_FRACTION = 0.2
TEST_SPLIT_SEED = 0  # fixed: the test split does not move with the run's seed


def read_frey_face(path: Path) -> np.ndarray:
    """The faces as uint8 (N, 28, 20); a file without a 560-row uint8-valued `ff` is refused."""
    from scipy.io import loadmat

    mat = loadmat(path)
    if "ff" not in mat:
        raise DatasetMissingError(f"dataset 'frey_face': {path} has no array 'ff' (keys: "
                                  f"{', '.join(k for k in mat if not k.startswith('__'))}); "
                                  f"fetch the original file from {FREY_FACE_URL}")
    ff = mat["ff"]
    n_pixels = FREY_FACE_SHAPE[0] * FREY_FACE_SHAPE[1]
    if ff.ndim != 2 or ff.shape[0] != n_pixels:
        raise DatasetMissingError(f"dataset 'frey_face': 'ff' in {path} has shape {ff.shape}; "
                                  f"expected ({n_pixels}, N), one 28 x 20 image per column")
    return np.ascontiguousarray(ff.T.reshape(-1, *FREY_FACE_SHAPE)).astype(np.uint8)


def first_occurrences(images: np.ndarray) -> np.ndarray:
    """Indices (ascending) of the images that are not a pixel-exact copy of an earlier one."""
    _, first = np.unique(images.reshape(len(images), -1), axis=0, return_index=True)
    return np.sort(first)


def frey_face_splits(images: np.ndarray, seed: int, val_fraction: float,
                     limit: int | None = None) -> DatasetSplits:
    """Disjoint train/val/test of uint8 faces scaled to [0, 1] as (N, 1, 28, 20)."""
    keep = first_occurrences(images)
    x = torch.from_numpy(images[keep]).float().div_(255.0).unsqueeze(1)
    rest, test, _, _ = split_train_val(x, None, TEST_FRACTION, TEST_SPLIT_SEED)
    if limit is not None:
        rest = rest[:limit]
    train, val, _, _ = split_train_val(rest, None, val_fraction, seed)
    return DatasetSplits(
        name="frey_face", options={"limit": limit}, train=train, val=val, test=test,
        extras={"duplicates_dropped": len(images) - len(keep)})


def load_frey_face(seed: int, val_fraction: float, data_dir: Path,
                   limit: int | None = None) -> DatasetSplits:
    """The registry's loader (once FREY_FACE is in downloaded.SOURCES): `limit` caps the images
    left for train and val after the test split is cut off (quick runs; test stays whole)."""
    folder = require_files(data_dir, FREY_FACE.name)
    return frey_face_splits(read_frey_face(folder / FREY_FACE.files[0]), seed, val_fraction, limit)
