"""Registers the built-in dataset loaders (imported on first use of the registry)."""
from ferkit.data import loaders_fer  # noqa: F401

try:  # formats added by separate modules; each registers itself on import
    from ferkit.data import loaders_folders  # noqa: F401
except ImportError:  # pragma: no cover - module not present in minimal installs
    pass
