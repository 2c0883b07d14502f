"""Model registry and architectures. Models return logits; nothing here knows about training or I/O."""

from ferkit.models import zoo  # noqa: F401,E402  (registers every architecture; after the registry it fills)
from ferkit.models.registry import create_model, list_models, register_model

__all__ = ["create_model", "list_models", "register_model"]
