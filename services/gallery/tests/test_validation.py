"""Unit tests: format whitelist and the 1.5 GB limit (docs/api.md, "Upload validation")."""

import pytest

from reelhouse.gallery.domain.validation import MAX_SOURCE_SIZE_BYTES, ValidationFailure, validate_source

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "mime,name,fmt",
    [
        ("video/mp4", "a.mp4", "MP4"),
        ("video/quicktime", "clip.MOV", "MOV"),
        ("video/3gpp", "phone.3gp", "3GP"),
        ("video/x-msvideo", "old.avi", "AVI"),
        ("video/x-ms-wmv", "win.wmv", "WMV"),
        ("Video/MP4; codecs=avc1", None, "MP4"),
    ],
)
def test_allowed_formats(mime, name, fmt):
    assert validate_source(mime, 1000, name) == fmt


@pytest.mark.parametrize(
    "mime,name",
    [("video/webm", "a.webm"), ("image/png", "a.mp4"), ("video/mp4", "a.mkv"), ("video/mp4", "noext"), ("video/mp4", "a.mov")],
)
def test_rejected_formats(mime, name):
    with pytest.raises(ValidationFailure) as err:
        validate_source(mime, 1000, name)
    assert (err.value.status, err.value.code) == (422, "UNSUPPORTED_FORMAT")


def test_size_limit_is_inclusive():
    assert validate_source("video/mp4", MAX_SOURCE_SIZE_BYTES) == "MP4"
    with pytest.raises(ValidationFailure) as err:
        validate_source("video/mp4", MAX_SOURCE_SIZE_BYTES + 1)
    assert (err.value.status, err.value.code) == (413, "FILE_TOO_LARGE")
    assert MAX_SOURCE_SIZE_BYTES == 1_610_612_736


def test_non_positive_size():
    with pytest.raises(ValidationFailure) as err:
        validate_source("video/mp4", 0)
    assert err.value.code == "INVALID_SIZE"
