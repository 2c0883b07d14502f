"""Real-browser end-to-end tests: Debian's headless Chromium driven by Selenium (Debian's chromedriver) against
a real `ferkit serve`. Uploads a group photo and checks that boxes and labels render; streams a fake webcam
(a Y4M made from the sample video) and checks that live annotations and the fps appear. Screenshots are saved
under $FERKIT_ARTIFACTS/web (or a pytest temporary folder)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.realdata, pytest.mark.slow]

CHROMIUM = os.environ.get("FERKIT_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("FERKIT_CHROMEDRIVER", "/usr/bin/chromedriver")


def _need_browser():
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


@pytest.fixture(scope="module")
def browser(webcam_y4m):
    _need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager look for drivers online
    profile = tempfile.mkdtemp(prefix="ferkit-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--mute-audio",
        f"--user-data-dir={profile}",
        "--window-size=1280,1100",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={webcam_y4m}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver, script: str, timeout: float = 60, what: str = ""):
    """Poll a JavaScript expression until it is truthy; return its value."""
    deadline = time.time() + timeout
    value = None
    while time.time() < deadline:
        value = driver.execute_script(f"return ({script});")
        if value:
            return value
        time.sleep(0.2)
    status = driver.execute_script("return document.getElementById('status').textContent")
    raise AssertionError(f"timed out waiting for {what or script} (page status: {status!r})")


def screenshot(driver, path: Path) -> None:
    """The whole page, not only the viewport (Chromium's DevTools protocol)."""
    import base64

    size = driver.execute_script("return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1},
        },
    )
    path.write_bytes(base64.b64decode(shot["data"]))


def open_page(driver, base: str) -> list[str]:
    driver.get(base + "/")
    wait_for(driver, "window.ferkit && window.ferkit.labels.length > 0", 30, "the model's labels")
    return driver.execute_script("return window.ferkit.labels")


def overlay_pixels(driver) -> int:
    """Number of painted (non-transparent) pixels of the annotation canvas."""
    return driver.execute_script("""
        const c = document.getElementById('overlay');
        if (!c.width || !c.height) return 0;
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
        return n;""")


def test_keyboard_reaches_the_controls(browser, live_server):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    open_page(browser, live_server)
    seen = []
    for _ in range(6):
        ActionChains(browser).send_keys(Keys.TAB).perform()  # real key presses, wherever the focus is
        seen.append(browser.execute_script("return document.activeElement.id || document.activeElement.tagName"))
    assert "file" in seen and "camera" in seen, seen
    assert seen.index("file") < seen.index("camera")


def test_upload_group_photo_draws_boxes_and_labels(browser, live_server, group_jpeg, artifacts_dir):
    labels = open_page(browser, live_server)
    browser.find_element("id", "file").send_keys(str(group_jpeg))
    n = wait_for(
        browser,
        "document.getElementById('stage').dataset.mode === 'image' && "
        "Number(document.getElementById('stage').dataset.faces)",
        60,
        "faces on the photo",
    )
    assert n >= 3
    # labels: one entry per face, each naming one of the model's labels, with a bar per label
    items = browser.find_elements("css selector", "#faces li.face")
    assert len(items) == n
    for li in items:
        assert li.get_attribute("data-label") in labels
        assert len(li.find_elements("css selector", ".bar")) == len(labels)
        assert li.find_element("css selector", "h3").text.split(": ")[1].split()[0] in labels
    # boxes: the overlay canvas has the photo's size and is painted along each face box's left edge
    size = browser.execute_script("const c = document.getElementById('overlay'); return [c.width, c.height]")
    image = browser.execute_script(
        "const i = document.getElementById('image'); return [i.naturalWidth, i.naturalHeight]"
    )
    assert size == image
    painted = browser.execute_script("""
        const c = document.getElementById('overlay'), ctx = c.getContext('2d');
        return window.ferkit.faces.map(f => {
            const x = Math.round(f.box[0]), y = Math.round((f.box[1] + f.box[3]) / 2);
            return ctx.getImageData(x, y, 1, 1).data[3] > 0; });""")
    assert painted and all(painted), painted
    assert overlay_pixels(browser) > 1000
    assert "face" in browser.find_element("id", "status").text
    screenshot(browser, artifacts_dir / "upload_group.png")
    # readable on a phone-sized screen: nothing wider than the viewport
    browser.set_window_size(390, 844)
    time.sleep(0.5)
    overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    screenshot(browser, artifacts_dir / "upload_group_phone.png")
    browser.set_window_size(1280, 1100)
    assert overflow <= 0


def test_upload_video_shows_timeline(browser, live_server, clip_webm, artifacts_dir):
    open_page(browser, live_server)
    browser.find_element("id", "file").send_keys(str(clip_webm))
    wait_for(browser, "window.ferkit.video && window.ferkit.tracks.size > 0", 90, "the video result")
    wait_for(browser, "Number(document.getElementById('stage').dataset.faces) > 0", 30, "faces over the video")
    assert browser.find_element("id", "stage").get_attribute("data-mode") == "video"
    assert "track" in browser.find_element("id", "status").text
    screenshot(browser, artifacts_dir / "upload_video.png")


def test_fake_webcam_gets_live_annotations(browser, live_server, artifacts_dir):
    from selenium.webdriver.common.keys import Keys

    labels = open_page(browser, live_server)
    button = browser.find_element("id", "camera")
    button.send_keys(Keys.ENTER)  # keyboard, not a mouse click
    wait_for(browser, "window.ferkit.live && window.ferkit.frames >= 8", 90, "8 live frames analysed")
    wait_for(browser, "Number(document.getElementById('stage').dataset.faces) > 0", 30, "live faces")
    assert browser.find_element("id", "stage").get_attribute("data-mode") == "live"
    assert button.get_attribute("aria-pressed") == "true"
    fps_text = browser.find_element("id", "fps").text
    assert "fps" in fps_text and float(fps_text.split()[0]) > 0, fps_text
    # a face the tracker has not confirmed yet (it just appeared, or the looping clip jumped back) has track_id
    # null; wait for a frame whose faces are all confirmed, read in one snapshot
    faces = wait_for(
        browser,
        "(f => f.length > 0 && f.every(x => x.track_id != null) && f)(window.ferkit.faces)",
        30,
        "a frame whose faces are all tracked",
    )
    assert all(f["label"] in labels and isinstance(f["track_id"], int) for f in faces), faces
    assert overlay_pixels(browser) > 200
    assert browser.execute_script("return window.ferkit.tracks.size") > 0  # the timeline has data
    timeline_painted = browser.execute_script("""
        const c = document.getElementById('timeline');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n;""")
    assert timeline_painted > 1000
    screenshot(browser, artifacts_dir / "webcam_live.png")
    button.send_keys(Keys.ENTER)
    wait_for(browser, "!window.ferkit.live", 10, "the webcam to stop")
    import httpx

    deadline = time.time() + 10  # the server closes the session when the page closes the socket
    while httpx.get(live_server + "/healthz").json()["live_sessions"] and time.time() < deadline:
        time.sleep(0.2)
    assert httpx.get(live_server + "/healthz").json()["live_sessions"] == 0
    print(f"screenshots in {artifacts_dir}")


def test_bad_uploads_leave_the_real_server_up(live_server, group_jpeg, samples_dir):
    import httpx

    jpeg = group_jpeg.read_bytes()
    mp4 = (samples_dir / "video" / "video_01.mp4").read_bytes()
    with httpx.Client(base_url=live_server, timeout=30) as c:
        for path, data in (
            ("/v1/predict", b""),
            ("/v1/predict", jpeg[:5000]),
            ("/v1/predict", b"text" * 100),
            ("/v1/predict/video", mp4.replace(b"avc1", b"zzz9")),
            ("/v1/predict/video", b"x" * 100),
        ):
            r = c.post(path, files={"file": ("f", data)})
            assert 400 <= r.status_code < 500 and r.json()["error"], (path, r.status_code, r.text)
        r = c.post(
            "/v1/predict",
            content=b"\xff" * (11 * 1024 * 1024),
            headers={"content-type": "multipart/form-data; boundary=x"},
        )
        assert r.status_code == 413 and r.json()["error"] == "payload_too_large"
        # health answers while a video job keeps the inference busy
        job = c.post("/v1/predict/video", params={"every_n_frames": 1}, files={"file": ("v.mp4", mp4)}).json()
        t = time.perf_counter()
        assert c.get("/healthz").json()["status"] == "ok"
        assert time.perf_counter() - t < 2.0
        c.delete(job["status_url"])


def test_in_browser_mode_matches_the_server(browser, live_server, ort_web_dir, group_jpeg, artifacts_dir):
    """Stretch: the page runs the server's models itself with onnxruntime-web; the faces it finds match the
    server's (same detector and classifier; the browser's resampling differs slightly)."""
    import shutil as _shutil

    import httpx

    if ort_web_dir is None:
        message = "onnxruntime-web is not installed (scripts/setup_browser.sh installs it with npm)"
        if os.environ.get("CI") and _shutil.which("npm"):
            pytest.fail(message)
        pytest.skip(message)
    open_page(browser, live_server)
    wait_for(browser, "!document.getElementById('runon-browser').disabled", 30, "in-browser mode offered")
    browser.find_element("id", "runon-browser").click()
    wait_for(browser, "window.ferkit.runOn === 'browser'", 90, "the models loaded in the browser")
    browser.find_element("id", "file").send_keys(str(group_jpeg))
    wait_for(
        browser,
        "window.ferkit.source === 'browser' && document.getElementById('stage').dataset.mode === 'image'"
        " && Number(document.getElementById('stage').dataset.faces)",
        60,
        "faces found in the browser",
    )
    here = browser.execute_script("return window.ferkit.faces")
    server = httpx.post(
        live_server + "/v1/predict", files={"file": ("g.jpeg", group_jpeg.read_bytes())}, timeout=60
    ).json()["faces"]
    assert len(here) == len(server) >= 3

    def iou(a, b):
        w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        inter = w * h
        return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)

    # Both sides report calibrated probabilities softmax(z / T). T < 1 sharpens them, which magnifies the small
    # logit differences that the browser's resampling causes; compare the network's own softmax(z), recovered
    # as p**T renormalised, so the tolerance measures the models and not the calibration.
    temperature = float(httpx.get(live_server + "/v1/models", timeout=30).json()["loaded"]["temperature"])

    def raw(probabilities: dict) -> dict:
        powered = {k: float(v) ** temperature for k, v in probabilities.items()}
        total = sum(powered.values())
        return {k: v / total for k, v in powered.items()}

    worst_iou, worst_p = 1.0, 0.0
    for f in server:
        match = max(here, key=lambda g: iou(f["box"], g["box"]))
        worst_iou = min(worst_iou, iou(f["box"], match["box"]))
        ours, theirs = raw(f["probabilities"]), raw(match["probabilities"])
        worst_p = max(worst_p, max(abs(ours[k] - theirs[k]) for k in ours))
    print(f"in-browser vs server: worst box IoU {worst_iou:.3f}, largest probability difference {worst_p:.3f}")
    assert worst_iou > 0.8
    assert worst_p < 0.25
    screenshot(browser, artifacts_dir / "in_browser_group.png")
    # the fake webcam, analysed in the page itself (no WebSocket)
    browser.find_element("id", "camera").click()
    wait_for(
        browser,
        "window.ferkit.live && window.ferkit.source === 'browser' && window.ferkit.frames >= 5",
        60,
        "5 webcam frames analysed in the browser",
    )
    assert browser.execute_script("return window.ferkit.ws") is None
    wait_for(browser, "Number(document.getElementById('stage').dataset.faces) > 0", 30, "live faces")
    print("in-browser webcam:", browser.find_element("id", "fps").text)
    screenshot(browser, artifacts_dir / "in_browser_webcam.png")
    browser.find_element("id", "camera").click()
    browser.find_element("css selector", 'input[name="runon"][value="server"]').click()


def _browser_faces(driver, path: Path) -> tuple[list, str]:
    """Upload ``path`` with the page in in-browser mode; the faces it found and its status line."""
    driver.find_element("id", "file").send_keys(str(path))
    wait_for(
        driver,
        f"window.ferkit.source === 'browser' && document.getElementById('image').alt.startsWith({path.name!r} + ',')",
        120,
        f"{path.name} analysed in the browser",
    )
    return driver.execute_script("return window.ferkit.faces"), driver.find_element("id", "status").text


def test_in_browser_photos_run_the_server_design(browser, live_server, ort_web_dir, samples_dir, data_root, tmp_path):
    """Close-ups, the group photo and generated crowd / close-up-beside-group scenes: the page's in-browser mode
    runs the server's photo design (two YuNet passes, flip TTA) and finds the faces the server finds, with the
    same labels (the browser's resampling differs slightly, so a face near the threshold may differ)."""
    import sys

    import cv2
    import httpx

    if ort_web_dir is None:
        pytest.skip("onnxruntime-web is not installed (scripts/setup_browser.sh installs it with npm)")
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import detection_scenes as scenes

    from ferkit.faces import load_image

    faces = scenes.load_faces(data_root, ck_count=4)
    group = load_image(samples_dir / "images" / "group.jpeg")
    pictures = [samples_dir / "images" / n for n in ("surprised.jpeg", "neutral.jpeg", "angry.jpg", "group.jpeg")]
    for name, scene in (
        ("crowd.png", scenes.crowd_scene(faces, 0)),
        ("mixture.png", scenes.mixture_scene(faces, group, scenes.group_boxes(group), 0)),
    ):
        cv2.imwrite(str(tmp_path / name), cv2.cvtColor(scene.image, cv2.COLOR_RGB2BGR))
        pictures.append(tmp_path / name)
    open_page(browser, live_server)
    wait_for(browser, "!document.getElementById('runon-browser').disabled", 30, "in-browser mode offered")
    browser.find_element("id", "runon-browser").click()
    wait_for(browser, "window.ferkit.runOn === 'browser'", 90, "the models loaded in the browser")
    report = []
    for path in pictures:
        here, status = _browser_faces(browser, path)
        assert "YuNet" in status and "flip" in status, status  # the page says what ran
        server = httpx.post(
            live_server + "/v1/predict", files={"file": (path.name, path.read_bytes())}, timeout=120
        ).json()["faces"]
        matched, same_label = 0, 0
        for f in server:
            near = [g for g in here if scenes.match(np.array([f["box"]], np.float64), [_detection(g)])[0][0]]
            if near:
                matched += 1
                same_label += near[0]["label"] == f["label"]
        report.append(
            f"{path.name}: server {len(server)}, browser {len(here)}, matched {matched}, same label {same_label}"
        )
        assert abs(len(here) - len(server)) <= max(1, len(server) // 10), report[-1]
        assert matched >= max(1, round(0.9 * len(server))), report[-1]
        assert same_label >= round(0.8 * matched), report[-1]
    print("\n".join(report))


def _detection(face: dict):
    from ferkit.faces import Detection

    return Detection(np.array(face["box"], np.float32), float(face["score"]))
