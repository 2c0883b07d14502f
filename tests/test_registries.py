"""Registries (models, datasets, losses, detectors) are filled by their package __init__: every plug-in is
registered after one import, and a plug-in that fails to import fails the import instead of vanishing."""

from __future__ import annotations

import subprocess
import sys

PLUGINS = [
    ("ferkit.models", "ferkit.models.vgg", "list_models", "vgg_fer"),
    ("ferkit.data", "ferkit.data.loaders_folders", "list_datasets", "imagefolder"),
    ("ferkit.losses", "ferkit.losses.metric_learning", "list_losses", "island"),
    ("ferkit.faces", "ferkit.faces.haar", "list_detectors", "haar"),
    ("ferkit.faces", "ferkit.faces.whole", "list_detectors", "none"),
]

CHECK = """
import importlib, sys
plugins = {plugins!r}
for package, plugin, lister, name in plugins:
    p = importlib.import_module(package)
    assert name in getattr(p, lister)(), (package, getattr(p, lister)())
for package, plugin, lister, name in plugins:
    for m in [m for m in sys.modules if m.startswith("ferkit")]:
        del sys.modules[m]
    sys.modules[plugin] = None          # importing it now raises ImportError, as a broken plug-in would
    try:
        importlib.import_module(package)
    except ImportError:
        pass
    else:
        raise SystemExit(f"{{package}} imported although {{plugin}} is broken")
    del sys.modules[plugin]
print("ok")
"""


def test_one_import_registers_every_plugin_and_broken_plugins_are_not_hidden():
    res = subprocess.run(
        [sys.executable, "-c", CHECK.format(plugins=PLUGINS)], capture_output=True, text=True, timeout=180
    )
    assert res.returncode == 0 and "ok" in res.stdout, (res.stdout + res.stderr)[-2000:]


def test_registry_names_builders_rejects_duplicates_and_lists_choices_for_unknown_names():
    import pytest

    from ferkit.errors import ConfigError
    from ferkit.registry import Registry

    reg = Registry("widget", ConfigError)

    @reg.register()
    def small():
        return 1

    reg.register("large")(lambda: 2)
    assert reg.names() == ["large", "small"] and reg.names("s*") == ["small"] and "small" in reg
    assert reg["small"]() == 1
    with pytest.raises(ValueError, match="widget 'small' registered twice"):
        reg.register("small")(lambda: 3)
    with pytest.raises(ConfigError, match="unknown widget 'medium'; choose from large, small"):
        reg["medium"]
