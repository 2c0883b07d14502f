"""One input of a collection analysed: a photo (faces -> its JSON entry, annotated copy written if asked) or a
video (one pass, frames tracked -> its JSON entry with frames and per-track summary, annotated video written if
asked). Used by ``ferkit predict`` (one process or many) and the batch engines."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from ferkit.errors import FerkitError, OutputError

log = logging.getLogger(__name__)


def write_image(path: Path, rgb) -> None:
    """An RGB image, encoded by its suffix, written atomically."""
    import cv2

    from ferkit.io_utils import atomic_write

    ok, data = cv2.imencode(path.suffix, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise FerkitError(f"{path}: cannot encode image")
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(data.tobytes()))


def analyse_image(recognizer, path: Path, target: Path | None, bars: bool, errors: list) -> dict:
    """The JSON entry of one photo (report.image_entry). A failed write of its annotated copy is recorded in
    ``errors`` and the analysis is kept."""
    from ferkit.inference.report import image_entry
    from ferkit.io_utils import output_failed
    from ferkit.media.images import load_image

    rgb = load_image(path, recognizer.max_pixels)
    faces = recognizer.predict(rgb)
    entry = image_entry(path, faces)
    if target is not None:
        from ferkit.inference.drawing import annotate

        try:  # a failed write loses only this picture: the analysis is kept and the run goes on
            write_image(target, annotate(rgb, faces, bars=bars))
            entry["output"] = str(target)
        except (OSError, OutputError) as e:
            output_failed(errors, target, e)
    return entry


def analyse_video(recognizer, source, annotated: Path | None, args, jsonl=None, errors: list | None = None) -> dict:
    """Run the recogniser over one video / camera / URL; returns the JSON entry of the run (report.video_entry);
    jsonl: where each analysed frame goes as it comes (a _predict_video.JsonlWriter), or None.
    Ctrl-C stops a live run cleanly: what was analysed so far is reported and written. A failed write of the
    annotated video (disk full...) is recorded in ``errors`` and the analysis goes on; the video is then
    never left under its final name."""
    from ferkit.inference.drawing import annotate
    from ferkit.inference.report import video_entry
    from ferkit.inference.results import summarise_tracks
    from ferkit.io_utils import output_failed
    from ferkit.media.video import VideoWriter

    label = str(source)
    run = recognizer.predict_video(
        source,
        every_n_frames=args.every_n_frames,
        return_frames=annotated is not None,
        max_frames=getattr(args, "max_frames", None),
        duration=getattr(args, "duration", None),
        detect_every=getattr(args, "detect_every", 1),
    )
    errors = [] if errors is None else errors
    frames, writer, write_failed, finished = [], None, False, False
    try:
        for item in run:
            result, rgb = item if annotated is not None else (item, None)
            if rgb is not None and not write_failed:
                try:
                    if writer is None:
                        writer = VideoWriter(annotated, run.info.fps, (rgb.shape[1], rgb.shape[0]))
                    writer.write(annotate(rgb, result.faces, bars=not args.no_bars))
                except (OSError, OutputError) as e:  # only the annotated video is lost; the analysis goes on
                    write_failed = True
                    output_failed(errors, annotated, e)
            frames.append(result)
            if result.analysed and jsonl is not None:
                jsonl.write({"path": label, **result.to_dict()})
        finished = True
    except KeyboardInterrupt:
        run.close()
        finished = True
        print(f"ferkit predict: {label}: stopped after {run.frames_analysed} analysed frames", file=sys.stderr)
    finally:
        if writer is not None and finished and not write_failed:
            try:
                writer.close()
            except (OSError, OutputError) as e:
                write_failed = True
                output_failed(errors, annotated, e)
        if writer is not None:
            writer.discard()  # nothing left after a successful close; a failed or aborted video goes
    if run.dropped_frames:
        log.warning("%s: analysis was slower than the source; %d frames dropped", label, run.dropped_frames)
    entry = video_entry(
        label,
        run.info.fps,
        frames,
        summarise_tracks(frames),
        run.truncated,
        skipped_frames=run.skipped_frames,
        dropped_frames=run.dropped_frames,
    )
    if writer is not None and not write_failed:
        entry["output"] = str(annotated)
    return entry
