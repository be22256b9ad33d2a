"""Analyses: pure functions of arrays, and thin runners that read models from MLflow."""
