"""Model registry and architectures. Models return logits; nothing here knows about training or I/O."""
from ferkit.models.registry import create_model, list_models, register_model

__all__ = ["create_model", "list_models", "register_model"]
