"""Canonical emotion vocabulary and explicit maps between dataset label sets.

Every dataset reader returns labels as indices into its own label list (a tuple of canonical
names); models carry their label list with the weights; anything combining two label sets
aligns them by name with :func:`align`.
"""

from __future__ import annotations

from collections.abc import Sequence

# Canonical names. FER2013 uses "happy"/"sad"/"angry"; FERPlus uses "happiness"/"sadness"/"anger".
# We keep one spelling per concept and map dataset spellings on to it.
NEUTRAL, HAPPY, SURPRISE, SAD, ANGRY, DISGUST, FEAR, CONTEMPT = (
    "neutral",
    "happiness",
    "surprise",
    "sadness",
    "anger",
    "disgust",
    "fear",
    "contempt",
)

CANONICAL = (NEUTRAL, HAPPY, SURPRISE, SAD, ANGRY, DISGUST, FEAR, CONTEMPT)

# Label orders of the datasets, expressed in canonical names.
FER2013_LABELS = (ANGRY, DISGUST, FEAR, HAPPY, SAD, SURPRISE, NEUTRAL)
FERPLUS_LABELS = (NEUTRAL, HAPPY, SURPRISE, SAD, ANGRY, DISGUST, FEAR, CONTEMPT)
BASIC7 = FER2013_LABELS
# CK+48 folders in sorted order: anger, contempt, disgust, fear, happy, sadness, surprise.
CKPLUS_LABELS = (ANGRY, CONTEMPT, DISGUST, FEAR, HAPPY, SAD, SURPRISE)
# JAFFE file-name codes AN DI FE HA NE SA SU.
JAFFE_LABELS = (ANGRY, DISGUST, FEAR, HAPPY, NEUTRAL, SAD, SURPRISE)
# RAF-DB basic labels 1..7 (stored 0-based).
RAFDB_LABELS = (SURPRISE, FEAR, DISGUST, HAPPY, SAD, ANGRY, NEUTRAL)
# AffectNet manual annotations, expression 0..7 (8..10 = none, uncertain, non-face are not emotions).
AFFECTNET_LABELS = (NEUTRAL, HAPPY, SAD, SURPRISE, FEAR, DISGUST, ANGRY, CONTEMPT)

SYNONYMS = {
    "angry": ANGRY,
    "anger": ANGRY,
    "an": ANGRY,
    "disgust": DISGUST,
    "disgusted": DISGUST,
    "di": DISGUST,
    "fear": FEAR,
    "fearful": FEAR,
    "afraid": FEAR,
    "fe": FEAR,
    "scared": FEAR,
    "happy": HAPPY,
    "happiness": HAPPY,
    "joy": HAPPY,
    "ha": HAPPY,
    "sad": SAD,
    "sadness": SAD,
    "sa": SAD,
    "surprise": SURPRISE,
    "surprised": SURPRISE,
    "su": SURPRISE,
    "neutral": NEUTRAL,
    "ne": NEUTRAL,
    "contempt": CONTEMPT,
    "co": CONTEMPT,
}


def canonical(name: str) -> str:
    """Return the canonical spelling of an emotion name (case-insensitive); raise KeyError if unknown."""
    key = name.strip().lower()
    if key not in SYNONYMS:
        raise KeyError(f"unknown emotion label {name!r}; known: {sorted(set(SYNONYMS.values()))}")
    return SYNONYMS[key]


def align(source: Sequence[str], target: Sequence[str]) -> list[tuple[int, int]]:
    """Pairs (source_index, target_index) of labels that both lists share, by canonical name."""
    target_index = {canonical(t): j for j, t in enumerate(target)}
    return [(i, target_index[canonical(s)]) for i, s in enumerate(source) if canonical(s) in target_index]


def remap_indices(labels, source: Sequence[str], target: Sequence[str]):
    """Map integer labels from `source` order to `target` order; labels absent from target become -1."""
    import numpy as np

    lut = np.full(len(source), -1, dtype=np.int64)
    for i, j in align(source, target):
        lut[i] = j
    return lut[np.asarray(labels, dtype=np.int64)]
