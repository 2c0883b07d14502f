"""Inference: the recogniser joining faces and models, temporal aggregation, video I/O and drawing."""

from ferkit.inference.recognizer import EmotionRecognizer
from ferkit.inference.results import FaceResult, FrameResult, TrackSummary, summarise_tracks

__all__ = ["EmotionRecognizer", "FaceResult", "FrameResult", "TrackSummary", "summarise_tracks"]
