"""What an analysis run computes: the recogniser's options and the video options, in one picklable record that
travels to every worker (process or Ray actor) and is stored with a resumable run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class AnalysisOptions:
    """recognizer: keyword arguments of EmotionRecognizer (model, detector, runtime, smoothing...; ``threads``
    is forced to 1: each worker is single-threaded); model_name: shown in the reports; every_n_frames,
    detect_every, max_frames, duration: per video (see EmotionRecognizer.predict_video); bars: probability
    bars on the annotated copies."""

    recognizer: dict = field(default_factory=dict)
    model_name: str = "ferplus"
    every_n_frames: int = 1
    detect_every: int = 1
    max_frames: int | None = None
    duration: float | None = None
    bars: bool = True

    @property
    def no_bars(self) -> bool:  # the attribute analyse_video reads
        return not self.bars

    def build_recognizer(self):
        """The recogniser of one worker: single-threaded (the workers are the parallelism)."""
        from ferkit.inference.recognizer import EmotionRecognizer

        return EmotionRecognizer(**{**self.recognizer, "threads": 1})

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> AnalysisOptions:
        return cls(**d)

    def signature(self) -> dict:
        """What must match for a resumed run to continue this one (everything that changes the rows; the
        recogniser's defaults filled in, so a command line and the Python API agree)."""
        import inspect

        from ferkit.inference.recognizer import EmotionRecognizer

        params = inspect.signature(EmotionRecognizer.__init__).parameters
        recognizer = {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty}
        recognizer.update(self.recognizer)
        out = self.to_dict()
        out.pop("bars")
        out["recognizer"] = {
            k: (v if isinstance(v, (int, float, str, bool, type(None))) else str(v))
            for k, v in sorted(recognizer.items())
            if k not in ("batch_size", "threads")
        }
        return out
