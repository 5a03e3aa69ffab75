"""The FSDD dataset (srcfpga.data.fsdd): splits, speakers, errors; the real data where it is present."""

from __future__ import annotations

import numpy as np
import pytest

from srcfpga.data import load_dataset
from srcfpga.data.fsdd import parse_speakers
from srcfpga.data.rows import RowEncoder
from srcfpga.errors import ConfigError, DatasetError


def test_splits_follow_the_take_numbers(fake_fsdd):
    test = load_dataset("fsdd", "test", fake_fsdd)
    train = load_dataset("fsdd", "train", fake_fsdd)
    every = load_dataset("fsdd", "all", fake_fsdd / "recordings")      # the folder itself works too
    assert (len(test), len(train), len(every)) == (20, 4, 24)
    assert test.images.shape == (20, 50 * 32) and test.images.dtype == np.uint8
    assert test.image_shape == (50, 32) and test.front_end is not None
    assert sorted(set(test.groups)) == ["ann", "bob"] and sorted(set(test.labels)) == [0, 1]


def test_speakers_select_recordings(fake_fsdd):
    data = load_dataset("fsdd", "all", fake_fsdd, speakers=("bob",))
    assert len(data) == 12 and set(data.groups) == {"bob"}
    assert data.head(5).groups == ("bob",) * 5
    with pytest.raises(DatasetError, match="unknown speaker.*carl.*ann, bob"):
        load_dataset("fsdd", "test", fake_fsdd, speakers=("ann", "carl"))
    with pytest.raises(DatasetError, match="fsdd dataset only"):
        load_dataset("digits", "test", speakers=("ann",))
    assert parse_speakers(" ann, bob ") == ("ann", "bob") and parse_speakers(None) is None
    with pytest.raises(DatasetError):
        parse_speakers(",")


def test_missing_folder_and_bad_files(tmp_path, fake_fsdd, wav_writer):
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset("fsdd", "test", tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="needs --data-dir"):
        load_dataset("fsdd", "test", None)
    with pytest.raises(DatasetError, match="holds no FSDD recordings"):
        load_dataset("fsdd", "test", tmp_path)
    with pytest.raises(DatasetError, match="unknown split"):
        load_dataset("fsdd", "val", fake_fsdd)
    wav_writer(fake_fsdd / "recordings" / "1_ann_9.wav", np.zeros(800, np.int16), rate=16000)
    with pytest.raises(DatasetError, match="1_ann_9.wav: sample rate 16000 Hz"):
        load_dataset("fsdd", "train", fake_fsdd)
    (fake_fsdd / "recordings" / "1_ann_9.wav").write_bytes(b"junk")
    with pytest.raises(DatasetError, match="1_ann_9.wav is not a readable WAV"):
        load_dataset("fsdd", "train", fake_fsdd)
    (fake_fsdd / "recordings" / "1_ann_9.wav").unlink()
    (fake_fsdd / "recordings" / "hello.wav").write_bytes(b"")
    with pytest.raises(DatasetError, match="not an FSDD file name"):
        load_dataset("fsdd", "train", fake_fsdd)


def test_the_row_encoder_records_the_front_end(fake_fsdd):
    data = load_dataset("fsdd", "test", fake_fsdd, limit=2)
    encoder = RowEncoder(50, 32, (128, 192), front_end=data.front_end)
    again = RowEncoder(**{k: v for k, v in encoder.to_dict().items() if k != "kind"})
    assert again == encoder and again.front_end == data.front_end
    frames = encoder.encode(data.images, 50, 0)
    assert frames.shape == (2, 50, 64)
    assert np.array_equal(frames[:, :, 1::2], data.images.reshape(2, 50, 32) >= 192)
    assert "front_end" not in RowEncoder(50, 32).to_dict()        # image models: file unchanged
    with pytest.raises(ConfigError, match="makes 50 frames of 32 bands"):
        RowEncoder(28, 28, front_end=data.front_end)


def test_real_fsdd(fsdd_dir):
    test = load_dataset("fsdd", "test", fsdd_dir)
    assert len(test) == 250 and sorted(set(test.groups)) == ["george", "jackson", "lucas", "nicolas", "theo"]
    assert np.bincount(test.labels).tolist() == [25] * 10
    train = load_dataset("fsdd", "train", fsdd_dir.parent, speakers=("theo",))
    assert len(train) == 450 and set(train.groups) == {"theo"}
