"""Upload validation rules of docs/api.md, "Upload validation": formats MOV, MP4, 3GP,
AVI, WMV only; size <= 1.5 GB = 1,610,612,736 bytes (docs/api.md)."""

from __future__ import annotations

MAX_SOURCE_SIZE_BYTES = 1_610_612_736
"""1.5 GiB, the "1.5 GB" limit (docs/api.md, "Upload validation" gives the byte figure)."""

ALLOWED_MIME_TYPES: dict[str, str] = {
    "video/mp4": "MP4",
    "video/quicktime": "MOV",
    "video/3gpp": "3GP",
    "video/x-msvideo": "AVI",
    "video/avi": "AVI",
    "video/msvideo": "AVI",
    "video/x-ms-wmv": "WMV",
    "video/x-ms-asf": "WMV",
}
"""MIME type -> format (IANA / common registrations for the five allowed containers)."""

ALLOWED_EXTENSIONS: dict[str, str] = {"mp4": "MP4", "m4v": "MP4", "mov": "MOV", "qt": "MOV", "3gp": "3GP", "avi": "AVI", "wmv": "WMV"}
"""File extension (lower case, no dot) -> format."""


class ValidationFailure(Exception):
    """Input refused: ``status`` 422 (format) or 413 (size), with a stable ``code``."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


def normalize_mime(mime: str) -> str:
    """Lower-case MIME type without parameters (``Video/MP4; codecs=...`` -> ``video/mp4``)."""
    return mime.split(";", 1)[0].strip().lower()


def extension_of(file_name: str | None) -> str | None:
    """Lower-case extension of ``file_name`` without the dot, or None."""
    if not file_name or "." not in file_name.rsplit("/", 1)[-1]:
        return None
    return file_name.rsplit(".", 1)[-1].strip().lower() or None


def validate_source(mime: str, size_bytes: int, file_name: str | None = None) -> str:
    """Check a declared source; returns the format name (e.g. ``MP4``).

    Raises :class:`ValidationFailure`: 422 UNSUPPORTED_FORMAT (MIME type or extension outside the
    whitelist, or the two naming different formats), 413 FILE_TOO_LARGE (over 1,610,612,736 bytes),
    422 INVALID_SIZE (zero or negative).
    """
    fmt = ALLOWED_MIME_TYPES.get(normalize_mime(mime))
    if fmt is None:
        raise ValidationFailure(422, "UNSUPPORTED_FORMAT", f"MIME type {mime!r} is not one of MOV, MP4, 3GP, AVI, WMV")
    ext = extension_of(file_name)
    if file_name is not None:
        ext_fmt = ALLOWED_EXTENSIONS.get(ext or "")
        if ext_fmt is None:
            raise ValidationFailure(422, "UNSUPPORTED_FORMAT", f"file extension {ext!r} is not one of mov, mp4, 3gp, avi, wmv")
        if ext_fmt != fmt:
            raise ValidationFailure(422, "UNSUPPORTED_FORMAT", f"file extension .{ext} ({ext_fmt}) does not match MIME type {mime} ({fmt})")
    if size_bytes <= 0:
        raise ValidationFailure(422, "INVALID_SIZE", "sourceSizeBytes must be positive")
    if size_bytes > MAX_SOURCE_SIZE_BYTES:
        raise ValidationFailure(413, "FILE_TOO_LARGE", f"{size_bytes} bytes exceeds the limit of {MAX_SOURCE_SIZE_BYTES} bytes (1.5 GB)")
    return fmt
