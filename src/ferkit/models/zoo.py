"""Imports every architecture module so their builders register."""
from ferkit.models import fernet, mobilenet, resnet, vgg, xception  # noqa: F401
from ferkit.models import ensemble, ran, two_branch  # noqa: F401  (composite models, built on the above)
