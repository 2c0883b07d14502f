"""Imports every architecture module so their builders register."""

from ferkit.models import ensemble, fernet, mobilenet, ran, resnet, two_branch, vgg, xception  # noqa: F401  # noqa: F401  (composite models, built on the above)
