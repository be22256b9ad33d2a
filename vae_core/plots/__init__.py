"""Figure functions: tables in, matplotlib figures out."""

import matplotlib

matplotlib.use("Agg")

from matplotlib import pyplot as plt  # noqa: E402  (after the backend is chosen)
from matplotlib.figure import Figure  # noqa: E402


def finished(fig: Figure) -> Figure:
    """Lay a figure out and detach it from pyplot: callers save or log it, nothing shows it."""
    fig.tight_layout()
    plt.close(fig)
    return fig
