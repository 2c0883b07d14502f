"""Fixtures of the documentation tests: the site built strictly once per session, the files the docs' examples
name (a face crop, a folder of crops, a short video, `ferkit` on the PATH), and a headless Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: real-browser end-to-end test (headless Chromium)")


def _need(module: str) -> None:
    """Skip without the package (fail under CI, which must have it)."""
    try:
        __import__(module)
    except ImportError:
        message = f"the docs tests need {module} (pip install -e '.[docs]' or bash scripts/setup.sh)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """`mkdocs build --strict` of this checkout into a temporary folder (any warning fails the build)."""
    _need("mkdocs")
    _need("mkdocstrings")
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stderr[-4000:]}"
    return out


def _face_crops(image: Path, count: int) -> list:
    """The first ``count`` faces of a photo, each cut out with a margin (RGB arrays)."""
    import numpy as np

    from ferkit.faces import create_detector, load_image

    rgb = load_image(image)
    detections = sorted(create_detector("auto")(rgb), key=lambda d: -d.score)[:count]
    assert len(detections) == count, f"{image}: {len(detections)} faces found, {count} needed"
    crops = []
    for det in detections:
        x1, y1, x2, y2 = np.asarray(det.box, dtype=float)
        pad = 0.25 * max(x2 - x1, y2 - y1)
        top, bottom = int(max(0, y1 - pad)), int(min(rgb.shape[0], y2 + pad))
        left, right = int(max(0, x1 - pad)), int(min(rgb.shape[1], x2 + pad))
        crops.append(np.ascontiguousarray(rgb[top:bottom, left:right]))
    return crops


def _write_clip(image: Path, path: Path, frames: int = 12) -> None:
    """A short MP4 of a photo drifting a few pixels per frame (faces move, so tracking has work to do)."""
    import cv2
    import numpy as np

    bgr = cv2.imread(str(image))
    scale = 640 / bgr.shape[1]
    bgr = cv2.resize(bgr, (640, int(round(bgr.shape[0] * scale / 2)) * 2), interpolation=cv2.INTER_AREA)
    h, w = bgr.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (w, h))
    assert writer.isOpened(), "OpenCV cannot write MP4 here"
    for i in range(frames):
        shift = np.float32([[1, 0, 2 * i], [0, 1, i]])
        writer.write(cv2.warpAffine(bgr, shift, (w, h), borderMode=cv2.BORDER_REPLICATE))
    writer.release()
    assert path.stat().st_size > 0


@pytest.fixture(scope="session")
def doc_assets(tmp_path_factory) -> Path:
    """The files the docs' examples name, beside links to examples/ and configs/, and a `ferkit` command that
    runs this checkout."""
    from PIL import Image

    assets = tmp_path_factory.mktemp("doc-assets")
    group = ROOT / "examples" / "group.jpeg"
    crops = _face_crops(group, 2)
    Image.fromarray(crops[0]).save(assets / "crop.png")
    (assets / "crops").mkdir()
    for i, crop in enumerate(crops):
        Image.fromarray(crop).save(assets / "crops" / f"face_{i}.png")
    _write_clip(group, assets / "clip.mp4")
    (assets / "examples").symlink_to(ROOT / "examples")
    (assets / "configs").symlink_to(ROOT / "configs")
    bin_dir = tmp_path_factory.mktemp("doc-bin")
    shim = bin_dir / "ferkit"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m ferkit.cli.main "$@"\n')
    shim.chmod(0o755)
    (assets / ".bin").symlink_to(bin_dir)
    return assets


# ---------------------------------------------------------------- a headless browser for the built site

CHROMIUM = os.environ.get("FERKIT_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("FERKIT_CHROMEDRIVER", "/usr/bin/chromedriver")


@pytest.fixture(scope="module")
def site_browser():
    """Debian's headless Chromium driven by Selenium (as tests/web/test_browser.py), offline."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    if missing:
        message = f"browser tests need {', '.join(missing)} (run scripts/setup_browser.sh)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager look for drivers online
    profile = tempfile.mkdtemp(prefix="ferkit-docs-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        f"--user-data-dir={profile}",
        "--window-size=1280,1000",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)
