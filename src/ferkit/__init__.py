"""ferkit: facial expression recognition toolkit.

Importing ferkit has no side effects; heavy submodules load on first use.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["EmotionRecognizer", "__version__", "analyze", "analyze_iter", "create_model", "list_models", "load_model"]


def __getattr__(name: str):
    if name == "EmotionRecognizer":
        from ferkit.inference.recognizer import EmotionRecognizer

        return EmotionRecognizer
    if name in ("create_model", "list_models"):
        from ferkit.models import registry

        return getattr(registry, name)
    if name in ("analyze", "analyze_iter"):
        from ferkit.batch import api

        return getattr(api, name)
    if name == "load_model":
        from ferkit.models.checkpoint import load_model

        return load_model
    raise AttributeError(f"module 'ferkit' has no attribute {name!r}")
