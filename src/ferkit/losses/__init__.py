"""Loss functions. Every loss is called as ``loss(logits, targets, features=None)`` and returns a scalar;
losses with learnable parameters (centres) are nn.Modules whose parameters the trainer adds to the optimiser.
A loss that declares ``needs_attention = True`` (region_biased) is also given ``attention=`` (the dict from the
model's ``forward_with_attention``)."""

from ferkit.losses import classification, metric_learning, region_biased  # noqa: F401,E402  (registration)
from ferkit.losses.registry import build_loss, list_losses, register_loss

__all__ = ["build_loss", "list_losses", "register_loss"]
