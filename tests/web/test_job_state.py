"""Video jobs outlive the server: a `ferkit serve` SIGKILLed and started again on its state folder still serves
a finished job with its result, and reports the job it was running as interrupted (never a 404); the video
worker processes of the killed server do not outlive it."""

from __future__ import annotations

import signal

import pytest


def _submit(base: str, clip, wait: bool):
    import httpx

    with open(clip, "rb") as f:
        r = httpx.post(
            f"{base}/v1/predict/video",
            params={"wait": str(wait).lower(), "every_n_frames": 1},
            files={"file": ("clip.mp4", f, "video/mp4")},
            timeout=300,
        )
    assert r.status_code == (200 if wait else 202), r.text
    return r.json()


@pytest.mark.slow
def test_sigkilled_server_still_serves_finished_jobs(serve_process, web_model, clip_mp4, tmp_path):
    import httpx
    import psutil

    state = tmp_path / "state"
    port = serve_process.free_port()
    base = f"http://127.0.0.1:{port}"
    proc = serve_process.start(web_model, port, tmp_path / "serve1.log", "--state-dir", str(state))
    try:
        done = _submit(base, clip_mp4, wait=True)
        assert done["status"] == "done" and done["result"]["frames"]
        cut = _submit(base, clip_mp4, wait=False)  # queued or running when the server is killed
        assert cut["status"] in ("queued", "running")
        workers = psutil.Process(proc.pid).children(recursive=True)  # the video workers among them
        assert workers
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    _, alive = psutil.wait_procs(workers, timeout=20)
    assert not alive, f"processes of the killed server left running: {[p.cmdline() for p in alive]}"

    proc = serve_process.start(web_model, port, tmp_path / "serve2.log", "--state-dir", str(state))
    try:
        again = httpx.get(f"{base}/v1/jobs/{done['job_id']}", timeout=30)
        assert again.status_code == 200
        assert again.json()["status"] == "done" and again.json()["result"] == done["result"]
        lost = httpx.get(f"{base}/v1/jobs/{cut['job_id']}", timeout=30)
        assert lost.status_code == 200
        assert lost.json()["status"] == "interrupted" and lost.json()["error"]["error"] == "interrupted"
        assert httpx.get(f"{base}/v1/jobs/0123456789abcdef", timeout=30).status_code == 404
    finally:
        serve_process.stop(proc)


def test_job_store_keeps_jobs_across_instances(tmp_path):
    """The same through the store alone (no server): a finished job comes back whole; a running one is
    reported interrupted by the next instance; a second instance on a folder in use is refused."""
    from types import SimpleNamespace

    from ferkit.errors import FerkitError
    from ferkit.web.job_store import JobStore

    def job(id_, status, result=None):
        return SimpleNamespace(
            id=id_,
            status=status,
            created=1.0,
            started=2.0,
            finished=3.0 if result else None,
            every_n_frames=1,
            frames_total=10,
            frames_done=10 if result else 4,
            client="c",
            result=result,
            error=None,
        )

    store = JobStore(tmp_path)
    store.put(job("a", "done", {"summary": {"tracks": 1}}))
    store.put(job("b", "running"))
    with pytest.raises(FerkitError, match="another ferkit serve"):
        JobStore(tmp_path)
    store.db.close()  # as a killed process leaves it: no clean-up
    store._lock_file.close()

    again = JobStore(tmp_path)
    assert again.interrupt_unfinished() == 1
    assert again.get("a")["status"] == "done" and again.get("a")["result"] == {"summary": {"tracks": 1}}
    assert again.get("b")["status"] == "interrupted" and again.get("b")["error"]["error"] == "interrupted"
    assert again.get("zz") is None
    again.close()
