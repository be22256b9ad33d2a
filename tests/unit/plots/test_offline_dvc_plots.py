"""`dvc plots show` draws every declared series with no network: the repo's plot declaration and
its offline template, rendered by DVC and opened in headless Chromium (a screenshot is read back)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from matplotlib.image import imread

from tests.conftest import ROOT

BROWSER = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")
                if shutil.which(b)), None)


def line_pixels(image: np.ndarray) -> np.ndarray:
    """Saturated pixels (the lines; axes, grid and text are grey)."""
    rgb = image[..., :3]
    return (rgb.max(-1) - rgb.min(-1)) > 0.25


def most_lines_in_a_column(mask: np.ndarray) -> int:
    """The most separate vertical runs of line pixels in any one column."""
    starts = mask[1:] & ~mask[:-1]
    return int(starts.sum(0).max())


@pytest.mark.skipif(BROWSER is None, reason="no chromium (`.ci/services.sh` installs it)")
def test_dvc_plots_show_draws_every_series_offline(tmp_path: Path) -> None:
    dvc = Path(sys.executable).parent / "dvc"
    subprocess.run([dvc, "init", "--no-scm", "-q"], cwd=tmp_path, check=True)
    (tmp_path / ".dvc" / "config").write_text((ROOT / ".dvc" / "config").read_text())
    shutil.copytree(ROOT / "docs" / "vega", tmp_path / "docs" / "vega")
    declared = yaml.safe_load((ROOT / "dvc.yaml").read_text())["plots"]
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"plots": declared}))
    (csv_path, columns), = next(iter(declared[0].values()))["y"].items()
    assert len(columns) == 3
    rows = [f"{e}," + ",".join(str(60 - 10 * i - (3 + i) * e) for i in range(3)) for e in range(9)]
    (tmp_path / csv_path).parent.mkdir(parents=True)
    (tmp_path / csv_path).write_text("epoch," + ",".join(columns) + "\n" + "\n".join(rows) + "\n")
    subprocess.run([dvc, "plots", "show", "-o", "out"], cwd=tmp_path, check=True, capture_output=True)
    page = (tmp_path / "out" / "index.html").read_text()
    assert "cdn.jsdelivr" not in page and "vega-embed 6.29.0" in page
    shot = tmp_path / "shot.png"
    subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=900,600",
                    "--virtual-time-budget=5000", f"--screenshot={shot}",
                    (tmp_path / "out" / "index.html").as_uri()], check=True, capture_output=True,
                   timeout=120)
    mask = line_pixels(imread(shot))
    assert mask.sum() > 500, "the page drew no lines"
    # the plot area (above the smoothing slider, left of the legend): one line per latent size
    assert most_lines_in_a_column(mask[30:340, 50:345]) == 3
