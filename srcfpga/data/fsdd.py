"""The Free Spoken Digit Dataset (FSDD) as integer log-mel feature rows.

FSDD (Zohar Jackson et al., https://github.com/Jakobovski/free-spoken-digit-dataset, CC BY-SA 4.0):
spoken digits 0-9, 8 kHz mono 16-bit WAV files named ``{digit}_{speaker}_{take}.wav``. Takes 0-4 are
the conventional test split, takes 5 and above the training split. Each recording becomes one
``(frames, bands)`` uint8 feature image through :class:`~srcfpga.data.audio.LogMelFrontEnd`; the row
encoder then turns frame ``t`` into timestep ``t``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from .audio import LogMelFrontEnd, read_wav

FSDD_SPLITS = ("train", "test", "all")
TEST_TAKES = 5
_NAME = re.compile(r"^(\d)_([A-Za-z0-9-]+)_(\d+)\.wav$")


def recordings_dir(data_dir: str | Path | None) -> Path:
    """The folder holding the WAV files: ``data_dir`` itself or its ``recordings/``."""
    if data_dir is None:
        raise DatasetError("dataset 'fsdd' needs --data-dir (the FSDD folder or its recordings/)")
    path = Path(data_dir)
    if not path.is_dir():
        raise DatasetError(f"data directory {path} does not exist")
    for candidate in (path / "recordings", path):
        if any(candidate.glob("*.wav")):
            return candidate
    raise DatasetError(f"{path} holds no FSDD recordings ({{digit}}_{{speaker}}_{{take}}.wav files, here or in "
                       "recordings/)")


def list_recordings(directory: Path) -> list[tuple[int, str, int, Path]]:
    """``(digit, speaker, take, path)`` of every FSDD-named WAV file, sorted by speaker, digit, take."""
    entries = []
    for path in directory.glob("*.wav"):
        match = _NAME.match(path.name)
        if match is None:
            raise DatasetError(f"{path}: not an FSDD file name ({{digit}}_{{speaker}}_{{take}}.wav)")
        entries.append((int(match[1]), match[2], int(match[3]), path))
    return sorted(entries, key=lambda e: (e[1], e[0], e[2]))


def parse_speakers(text: str | None) -> tuple[str, ...] | None:
    """``"a,b"`` -> ``("a", "b")``; None stays None (every speaker)."""
    if text is None:
        return None
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names:
        raise DatasetError(f"--speakers needs at least one name, got {text!r}")
    return names


def load_fsdd(data_dir: str | Path | None, split: str = "test", speakers: tuple[str, ...] | None = None,
              front_end: LogMelFrontEnd | None = None):
    """FSDD ``split`` (train: takes >= 5, test: takes 0-4, all) of ``speakers`` (default: all) as a
    :class:`~srcfpga.data.datasets.Dataset` of ``(frames * bands)`` uint8 feature rows."""
    from .datasets import Dataset

    if split not in FSDD_SPLITS:
        raise DatasetError(f"unknown split {split!r}; choose one of {', '.join(FSDD_SPLITS)}")
    front_end = front_end or LogMelFrontEnd()
    entries = list_recordings(recordings_dir(data_dir))
    known = sorted({e[1] for e in entries})
    if speakers is not None:
        unknown = [s for s in speakers if s not in known]
        if unknown:
            raise DatasetError(f"unknown speaker(s) {', '.join(unknown)}; the recordings have {', '.join(known)}")
        entries = [e for e in entries if e[1] in speakers]
    if split != "all":
        entries = [e for e in entries if (e[2] < TEST_TAKES) == (split == "test")]
    if not entries:
        raise DatasetError(f"no FSDD recordings in split {split!r} for speakers {', '.join(speakers or known)}")
    features = front_end.features([read_wav(e[3], front_end.sample_rate) for e in entries])
    labels = np.array([e[0] for e in entries], np.int64)
    return Dataset("fsdd", split, features.reshape(len(entries), -1), labels, (front_end.frames, front_end.bands),
                   10, front_end=front_end, groups=tuple(e[1] for e in entries))
