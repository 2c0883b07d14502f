"""The device bundle (lab/tools/device_bundle.py): the zoo's data travels to the device in verified parts that fit
beside the working tree."""

from __future__ import annotations

import numpy as np
import pytest
from lab_tools import load_tool


def test_device_bundle_travels_in_parts_and_is_verified_on_arrival(tmp_path):
    """The data does not fit beside the working tree in one device call: it is split into parts that arrive one
    call at a time, and only a complete, unmodified set of parts unpacks."""
    bundle = load_tool("device_bundle")
    data = tmp_path / "data"
    rng = np.random.default_rng(0)
    for name in bundle.FILES:
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        (data / name).write_bytes(rng.integers(0, 256, 3 * 2**20 if name.endswith(".xz") else 1000, np.uint8).tobytes())
    staged = tmp_path / "here" / ".zoo_data"
    manifest = bundle.stage(data, staged, part_bytes=2**20)
    assert len(manifest["parts"]) == 4 and all((staged / p).stat().st_size <= 2**20 for p in manifest["parts"])

    device, stash, dest = tmp_path / "there" / ".zoo_data", tmp_path / "there" / "stash", tmp_path / "there" / "bundle"
    device.mkdir(parents=True)
    for k, part in enumerate(manifest["parts"][:-1]):  # one call per part: the part and the manifest travel
        for name in (part, "MANIFEST"):
            (device / name).write_bytes((staged / name).read_bytes())
        present, missing = bundle.receive(device, stash)
        assert present == manifest["parts"][: k + 1] and missing == manifest["parts"][k + 1 :]
    with pytest.raises(bundle.BundleError, match="part03 of 4 have not arrived"):
        bundle.assemble(stash, dest)
    assert not dest.exists()
    last = manifest["parts"][-1]
    (device / last).write_bytes((staged / last).read_bytes())
    assert bundle.receive(device, stash)[1] == []
    bundle.assemble(stash, dest)
    for name in bundle.FILES:
        assert (dest / name).read_bytes() == (data / name).read_bytes()

    damaged = bytearray((stash / "part01").read_bytes())
    damaged[100] ^= 1
    (stash / "part01").write_bytes(bytes(damaged))
    with pytest.raises(bundle.BundleError, match="SHA-256"):
        bundle.assemble(stash, tmp_path / "there" / "other")
    (data / "ferplus" / "fer2013new.csv").write_bytes(b"restaged")  # a new staging: the old parts are dropped
    restaged = bundle.stage(data, staged, part_bytes=2**20)
    (device / "MANIFEST").write_bytes((staged / "MANIFEST").read_bytes())
    (device / "part00").write_bytes((staged / "part00").read_bytes())
    assert bundle.receive(device, stash) == (["part00"], restaged["parts"][1:])
    with pytest.raises(bundle.BundleError, match="missing ferplus/fer2013new.csv"):
        (data / "ferplus" / "fer2013new.csv").unlink()
        bundle.stage(data, staged, part_bytes=2**20)


def test_device_bundle_parts_fit_beside_this_working_tree():
    """What gpu_zoo.sh --stage cuts: the parts leave room for the tree under the device tool's per-call limit."""
    bundle = load_tool("device_bundle")
    tree = bundle.tree_bytes()
    assert 0 < tree < bundle.LIMIT_MIB * bundle.MIB - bundle.MARGIN_BYTES - bundle.MIB  # >= 1 MiB per part left
