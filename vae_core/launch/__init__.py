"""Where work runs: in this process, or as one Slurm job array (submitit). The settings, the
refusals before anything is submitted, the task's setup, job states, and `map_units`, which fans a
stage's units (latent sizes, models, grid points) out over an array and collects the results."""


class UnitsFailed(RuntimeError):
    """Array tasks that raised or ended without a result; the message names each with its log."""
