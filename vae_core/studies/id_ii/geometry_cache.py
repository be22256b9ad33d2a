"""Finished checkpoints of a geometry analysis, kept on disk so that running the analysis again
(after an interruption, or unchanged) skips them instead of recomputing.

An entry is keyed by everything its result depends on: the checkpoint, the evaluation points,
the settings, and the source of the analysis code, so a changed computation never reads an
old result. References that can move (`models:/NAME@ALIAS`) are not cached.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from vae_core import analysis
from vae_core.analysis.geometry import Neighbours
from vae_core.analysis.layer_geometry import LayerGeometry

ANALYSIS_CODE = ("geometry.py", "layer_geometry.py", "distance_blocks.py", "rank_counts.py",
                 "representations.py", "sample_quality.py")
RESULT, NEIGHBOURS = "result.json", "neighbours.npz"


def _code_digest() -> str:
    here = Path(analysis.__file__).parent
    digest = hashlib.sha256()
    for name in ANALYSIS_CODE:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()


def points_digest(points: Any) -> str:
    return hashlib.sha256(np.ascontiguousarray(np.asarray(points, dtype=np.float32)).tobytes()).hexdigest()


def cache_key(reference: str, epoch: int, points: str, settings: dict[str, Any]) -> str | None:
    """The entry's name; None when `reference` may name another model tomorrow (an alias)."""
    if "@" in reference:
        return None
    document = json.dumps({"reference": reference, "epoch": epoch, "points": points,
                           "settings": settings, "code": _code_digest()}, sort_keys=True, default=str)
    return hashlib.sha256(document.encode()).hexdigest()[:32]


class GeometryCache:
    """One folder per finished checkpoint: its LayerGeometry (and neighbour lists, when kept),
    its sample-quality score and the probed layers. An entry appears whole or not at all."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def has(self, key: str | None, with_neighbours: bool) -> bool:
        """Whether the entry is there (with the neighbour lists, when asked for)."""
        entry = self.folder / key if key else None
        return entry is not None and (entry / RESULT).is_file() and (
            not with_neighbours or (entry / NEIGHBOURS).is_file())

    def load(self, key: str | None, with_neighbours: bool
             ) -> tuple[LayerGeometry, float | None, dict[str, str]] | None:
        """The entry, or None when it is missing or lacks the neighbour lists asked for."""
        if not self.has(key, with_neighbours):
            return None
        entry = self.folder / key
        document = json.loads((entry / RESULT).read_text())
        geometry = LayerGeometry(**document["geometry"])
        if with_neighbours:
            with np.load(entry / NEIGHBOURS) as arrays:
                geometry.neighbours = {
                    layer: Neighbours(arrays[f"{layer}.distances"], arrays[f"{layer}.indices"])
                    for layer in geometry.layers}
        return geometry, document["score"], document["spec"]

    def save(self, key: str | None, geometry: LayerGeometry, score: float | None,
             spec: dict[str, str]) -> None:
        if key is None:
            return
        partial = self.folder / f".{key}.{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        if geometry.neighbours:
            np.savez(partial / NEIGHBOURS, **{f"{layer}.{part}": getattr(nb, part)
                                              for layer, nb in geometry.neighbours.items()
                                              for part in ("distances", "indices")})
        fields = {name: getattr(geometry, name) for name in
                  ("layers", "ids", "gride", "to_first", "to_last", "forward", "backward")}
        (partial / RESULT).write_text(json.dumps({"geometry": fields, "score": score, "spec": spec}))
        shutil.rmtree(self.folder / key, ignore_errors=True)
        os.replace(partial, self.folder / key)
