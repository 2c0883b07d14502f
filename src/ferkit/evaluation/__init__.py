"""Evaluation: pure metric maths, model evaluation over datasets, reports and plots."""
