"""Video analysis as background jobs: an upload becomes a job with a status URL that reports progress, then
the per-track timeline and summary. Jobs run one at a time on their own thread, or as tasks of the batch
engine (a JobEngine: worker processes or Ray, several at once); finished jobs expire. Every
change of a job's state is kept in a JobStore (SQLite under ``--state-dir``), so a restarted server still
serves finished jobs and reports the cut-off ones as ``interrupted``."""

from __future__ import annotations

import logging
import math
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ferkit.errors import FerkitError, MediaError
from ferkit.inference.results import FrameResult, summarise_tracks
from ferkit.media.video import VideoSource
from ferkit.web.errors import ApiError
from ferkit.web.job_store import JobStore
from ferkit.web.limits import Limits

log = logging.getLogger(__name__)
ANALYSED_FPS = 10.0  # default sampling: about this many analysed frames per second of video


@dataclass
class VideoProbe:
    fps: float
    width: int
    height: int
    frame_count: int


def probe_video(path: Path) -> VideoProbe:
    """Open the file and decode its first frame; raises ApiError 415 if no frame decodes (unknown codec)."""
    try:
        source = VideoSource(path)
    except MediaError:
        raise ApiError(415, "unsupported_video", "the video container or codec is not supported") from None
    try:
        _, rgb = source.read()
        if rgb is None:
            raise ApiError(
                415, "unsupported_video", "no frame of the video could be decoded (unsupported codec or corrupt file)"
            )
        return VideoProbe(
            fps=source.info.fps, width=int(rgb.shape[1]), height=int(rgb.shape[0]), frame_count=source.info.frame_count
        )
    finally:
        source.close()


@dataclass
class Job:
    id: str
    path: Path
    probe: VideoProbe
    every_n_frames: int
    frames_total: int
    status: str = "queued"  # queued | running | done | failed | cancelled (| interrupted: stored only)
    frames_done: int = 0
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    result: dict | None = None
    error: dict | None = None
    run: object | None = None  # the VideoRun: skipped_frames and truncated once read
    client: str = ""
    detector: object | None = None  # this job's face detector (None: the server's)
    detector_name: str | None = None  # its name, for a job run by the batch engine
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    def to_dict(self) -> dict:
        now = self.finished or time.time()
        fraction = 1.0 if self.status == "done" else min(1.0, self.frames_done / max(1, self.frames_total))
        return {
            "job_id": self.id,
            "status": self.status,
            "status_url": f"/v1/jobs/{self.id}",
            "progress": {
                "frames_done": self.frames_done,
                "frames_total": self.frames_total,
                "fraction": round(fraction, 4),
            },
            "elapsed_s": round(now - (self.started or now), 3),
            "result": self.result,
            "error": self.error,
        }


@dataclass
class StoredJob:
    """A job of an earlier server process, read back from the JobStore: finished, failed, cancelled or
    interrupted; nothing runs."""

    row: dict

    @property
    def id(self) -> str:
        return self.row["id"]

    @property
    def status(self) -> str:
        return self.row["status"]

    @property
    def active(self) -> bool:
        return False

    def to_dict(self) -> dict:
        r = self.row
        total, done = r["frames_total"] or 0, r["frames_done"] or 0
        fraction = 1.0 if r["status"] == "done" else min(1.0, done / max(1, total))
        end = r["finished"] or r["started"] or r["created"]
        return {
            "job_id": r["id"],
            "status": r["status"],
            "status_url": f"/v1/jobs/{r['id']}",
            "progress": {"frames_done": done, "frames_total": total, "fraction": round(fraction, 4)},
            "elapsed_s": round(end - (r["started"] or end), 3),
            "result": r["result"],
            "error": r["error"],
        }


class JobManager:
    """Jobs run one at a time (``engine.workers`` at once on a batch engine). At most ``max_jobs`` are queued
    or running (``max_jobs_per_client`` per client address); finished ones never count against that: their
    results are kept for ``job_ttl_s`` in a store of at most ``max_results`` (the oldest go first). A refusal
    carries a Retry-After estimated from the progress of the jobs ahead. store: where job states and results
    are kept (default: in memory only); the jobs an earlier server left unfinished there are marked
    interrupted. engine: a job_runner.JobEngine that runs the jobs as batch tasks, or None: on the job thread
    with ``recognizer``."""

    DEFAULT_S_PER_FRAME = 0.05  # before any job has finished: about one analysed frame per 50 ms

    def __init__(self, recognizer, model_name: str, limits: Limits, store: JobStore | None = None, engine=None):
        self.store = store if store is not None else JobStore(None)
        self.store.interrupt_unfinished()
        self.recognizer = recognizer
        self.model_name = model_name
        self.limits = limits
        self.jobs: dict[str, Job] = {}  # insertion order = submission order
        self._lock = threading.Lock()
        self.s_per_frame = self.DEFAULT_S_PER_FRAME  # running mean of finished jobs, for Retry-After
        self.engine = engine
        self.parallel = engine.workers if engine is not None else 1  # jobs running at once
        self.executor = ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="ferkit-video")

    # ----- bookkeeping ----------------------------------------------------------------------------------------
    def _purge(self) -> None:
        """Drop results past their TTL, then the oldest beyond ``max_results``."""
        cutoff = time.time() - self.limits.job_ttl_s
        done = sorted((j for j in self.jobs.values() if not j.active and j.finished), key=lambda j: j.finished)
        expired = [j for j in done if j.finished < cutoff]
        kept = [j for j in done if j.finished >= cutoff]
        for j in expired + kept[: max(0, len(kept) - self.limits.max_results)]:
            del self.jobs[j.id]
        self.store.purge(cutoff, self.limits.max_results)

    def _remaining_s(self, job: Job) -> float:
        """Estimated seconds until ``job`` finishes on its own (not counting the jobs ahead of it)."""
        frames_left = max(0, job.frames_total - job.frames_done) / max(1, job.every_n_frames)
        if job.status == "running" and job.started and job.frames_done:
            elapsed = time.time() - job.started
            return elapsed * (job.frames_total - job.frames_done) / job.frames_done
        return frames_left * self.s_per_frame

    def retry_after(self, jobs: list[Job]) -> int:
        """Seconds until the first of ``jobs`` (active, in queue order) should finish: the remaining time of
        every active job up to and including it, shared by the jobs that run at once."""
        if not jobs:
            return 1
        queue = [j for j in self.jobs.values() if j.active]
        upto = queue.index(jobs[0]) + 1 if jobs[0] in queue else len(queue)
        return max(1, min(3600, math.ceil(sum(self._remaining_s(j) for j in queue[:upto]) / self.parallel)))

    def submit(
        self,
        path: Path,
        probe: VideoProbe,
        every_n_frames: int | None,
        client: str = "",
        detector=None,
        detector_name: str | None = None,
    ) -> Job:
        every = every_n_frames or max(1, round(probe.fps / ANALYSED_FPS))
        total = min(probe.frame_count or self.limits.max_video_frames, self.limits.max_video_frames)
        with self._lock:
            self._purge()
            active = [j for j in self.jobs.values() if j.active]
            mine = [j for j in active if j.client == client]
            if len(mine) >= self.limits.max_jobs_per_client:
                path.unlink(missing_ok=True)
                wait = self.retry_after(mine)
                raise ApiError(
                    429,
                    "too_many_jobs",
                    f"this client has {len(mine)} video jobs queued or running (the limit); retry in about {wait} s",
                    headers={"Retry-After": str(wait)},
                )
            if len(active) >= self.limits.max_jobs:
                path.unlink(missing_ok=True)
                wait = self.retry_after(active)
                raise ApiError(
                    503,
                    "busy",
                    f"{len(active)} video jobs are queued or running (the limit); retry in about {wait} s",
                    headers={"Retry-After": str(wait)},
                )
            job = Job(
                id=secrets.token_hex(8),
                path=path,
                probe=probe,
                every_n_frames=every,
                frames_total=total,
                client=client,
                detector=detector,
                detector_name=detector_name,
            )
            self.jobs[job.id] = job
            self.store.put(job)
        self.executor.submit(self._run, job)
        return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            self._purge()
            job = self.jobs.get(job_id)
        if job is None:
            row = self.store.get(job_id)  # a job of an earlier server process
            if row is None:
                raise ApiError(404, "job_not_found", "no such job (unknown id, or finished and expired)")
            return StoredJob(row)
        return job

    def cancel(self, job_id: str) -> Job | StoredJob:
        job = self.get(job_id)
        if isinstance(job, StoredJob):  # finished before the restart: nothing to cancel
            return job
        job.cancel.set()
        if job.status == "queued":
            job.status, job.finished = "cancelled", time.time()
            self.store.put(job)
        return job

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(("queued", "running", "done", "failed", "cancelled"), 0)
        for j in list(self.jobs.values()):
            out[j.status] += 1
        return out

    def close(self) -> None:
        """Stop: the unfinished jobs are cancelled here and kept as interrupted in the store."""
        self.store.interrupt_unfinished()
        self.store.close()
        for job in list(self.jobs.values()):
            job.cancel.set()
        self.executor.shutdown(wait=False, cancel_futures=True)
        if self.engine is not None:
            self.engine.close()

    # ----- work -----------------------------------------------------------------------------------------------
    def _run(self, job: Job) -> None:
        if job.cancel.is_set():
            job.path.unlink(missing_ok=True)
            return
        job.status, job.started = "running", time.time()
        self.store.put(job)
        frames: list[FrameResult] = []
        try:
            if self.engine is not None:
                self._run_on_engine(job)
                return
            stream = self.recognizer.predict_video(
                job.path,
                every_n_frames=job.every_n_frames,
                max_frames=self.limits.max_video_frames,
                detector=job.detector,
            )
            job.run = stream
            for fr in stream:
                frames.append(fr)
                job.frames_done = min(job.frames_total, fr.frame + 1)
                if job.cancel.is_set():
                    stream.close()
                    break
            if job.cancel.is_set():
                job.status = "cancelled"
            else:
                job.result = video_result(frames, job, self.model_name, self.recognizer.labels)
                job.frames_done, job.status = job.frames_total, "done"
                if frames:  # running mean of the time per analysed frame, for Retry-After estimates
                    per_frame = (time.time() - job.started) / len(frames)
                    self.s_per_frame = 0.7 * self.s_per_frame + 0.3 * per_frame
        except FerkitError as e:
            job.status, job.error = "failed", {"error": "invalid_video", "detail": str(e)}
        except Exception as e:  # keep the server up; the job reports what went wrong
            log.exception("video job %s failed", job.id)
            job.status, job.error = "failed", {"error": "internal_error", "detail": f"{type(e).__name__}: {e}"}
        finally:
            job.finished = time.time()
            job.path.unlink(missing_ok=True)
            self.store.put(job)

    def _run_on_engine(self, job: Job) -> None:
        """The job as one task of the batch engine: its video entry (report.video_entry) becomes the result."""
        result = self.engine.run(job)
        if job.cancel.is_set():
            job.status = "cancelled"
            return
        if not result["videos"]:
            detail = result["errors"][0]["error"] if result["errors"] else "the video could not be analysed"
            raise FerkitError(detail)
        entry = result["videos"][0]
        job.result = entry_result(entry, job, self.model_name, self.recognizer.labels)
        job.frames_done, job.status = job.frames_total, "done"
        if entry["frames"]:
            per_frame = (time.time() - job.started) / len(entry["frames"])
            self.s_per_frame = 0.7 * self.s_per_frame + 0.3 * per_frame


def _probs(d: dict) -> dict:
    return {k: round(float(v), 4) for k, v in d.items()}


def video_result(frames: list[FrameResult], job: Job, model_name: str, labels) -> dict:
    """Per-frame faces, per-track timeline and summary, and overall counts for one analysed video."""
    run = job.run
    tracks = [s.to_dict() for s in summarise_tracks(frames)]
    return _result(
        [fr.to_dict() for fr in frames],
        tracks,
        job,
        model_name,
        labels,
        getattr(run, "skipped_frames", 0),
        bool(getattr(run, "truncated", False)),
    )


def entry_result(entry: dict, job: Job, model_name: str, labels) -> dict:
    """video_result from the JSON entry of a video analysed by the batch engine (report.video_entry)."""
    return _result(
        entry["frames"],
        entry["tracks"],
        job,
        model_name,
        labels,
        entry.get("skipped_frames", 0),
        bool(entry.get("truncated")),
    )


def _result(
    frames: list[dict], tracks: list[dict], job: Job, model_name: str, labels, skipped: int, truncated: bool
) -> dict:
    """The API's result of a video job from its frames and tracks as JSON (FrameResult/TrackSummary.to_dict)."""
    timelines: dict[int, list] = {}
    counts = dict.fromkeys(labels, 0)
    for fr in frames:
        for face in fr["faces"]:
            counts[face["label"]] = counts.get(face["label"], 0) + 1
            if face["track_id"] is not None:
                timelines.setdefault(face["track_id"], []).append(
                    {
                        "frame": fr["frame"],
                        "time": round(fr["time"], 3),
                        "label": face["label"],
                        "probabilities": _probs(face["probabilities"]),
                    }
                )
    tracks = [{**t, "timeline": timelines.get(t["track_id"], [])} for t in tracks]
    seen = sum(counts.values())
    p = job.probe
    last = frames[-1]["frame"] if frames else -1
    return {
        "model": model_name,
        "labels": list(labels),
        "video": {
            "fps": round(p.fps, 3),
            "width": p.width,
            "height": p.height,
            "frame_count": p.frame_count,
            "duration_s": round(p.frame_count / p.fps, 3) if p.frame_count else None,
            "every_n_frames": job.every_n_frames,
            "frames_analysed": len(frames),
            "last_frame": last,
            "cut_at_limit": bool(p.frame_count and p.frame_count > job.frames_total),
            "skipped_frames": skipped,
            "truncated": truncated,
        },
        "frames": frames,
        "tracks": tracks,
        "summary": {
            "tracks": len(tracks),
            "face_frames": seen,
            "label_counts": counts,
            "dominant_label": max(counts, key=counts.get) if seen else None,
        },
    }
