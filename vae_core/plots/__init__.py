"""Figure functions: tables in, matplotlib figures out."""

import matplotlib

matplotlib.use("Agg")
