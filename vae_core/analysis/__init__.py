"""Analyses: pure functions of arrays, with thin runners that read models from MLflow."""
