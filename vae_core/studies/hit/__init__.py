"""Study S2 (issue 12): hierarchical VAEs trading rate between latent layers. `dvc repro
projects/hit/dvc.yaml`: the data set's classifier (registered in MLflow), the beta_y x beta_z
grid as an Optuna grid sweep (`python -m vae_core.cli sweep`), the evaluation of every grid
point, the report."""

from vae_core.studies.base import Stage
from vae_core.studies.hit.classifier import ClassifierStageConfig, classifier
from vae_core.studies.hit.evaluate import EvaluateStageConfig, evaluate
from vae_core.studies.hit.report import ReportStageConfig, report

STAGES = {
    "classifier": Stage(ClassifierStageConfig, classifier),
    "evaluate": Stage(EvaluateStageConfig, evaluate),
    "report": Stage(ReportStageConfig, report),
}
