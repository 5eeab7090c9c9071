"""Request and response bodies of the upload API (docs/api.md, "Upload sessions"; camelCase on the wire).

Sizes are in bytes; times are ISO 8601 in UTC. The response models are what the routes answer and what
the API document (docs/api/openapi.json) names.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, RootModel, model_validator

from reelhouse.platform.api import ApiModel, StrictApiModel

SessionStatus = Literal["INITIATED", "IN_PROGRESS", "PAUSED", "COMPLETED", "FAILED", "CANCELED"]
"""docs/api.md, "Upload session status"."""


class CreateSession(StrictApiModel):
    """Optional restatement of the declared source; must match what the video declared."""

    source_mime: str | None = None
    source_size_bytes: int | None = Field(default=None, ge=1)


class PartRequest(StrictApiModel):
    """One part (``partNumber``) or several (``partNumbers``, at most 100)."""

    part_number: int | None = None
    part_numbers: list[int] | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _one_of(self) -> PartRequest:
        if (self.part_number is None) == (self.part_numbers is None):
            raise ValueError("give exactly one of partNumber or partNumbers")
        return self


class CompletedPart(StrictApiModel):
    """A part the client stored: its number and the ``ETag`` storage answered to its PUT."""

    part_number: int
    etag: str


class CompleteRequest(StrictApiModel):
    """``POST /api/uploads/{sid}/complete``: every part, 1..totalParts."""

    parts: Annotated[list[CompletedPart], Field(min_length=1, max_length=10_000)]


class StoredPartOut(ApiModel):
    """A part storage already holds (to resume: upload only the others)."""

    part_number: int
    etag: str
    size_bytes: int


class UploadSessionOut(ApiModel):
    """An upload session. ``failReason`` only when FAILED or CANCELED; ``parts`` only in
    ``GET /api/uploads/{sid}`` (the parts stored so far)."""

    upload_session_id: uuid.UUID
    video_id: uuid.UUID
    status: SessionStatus
    provider: str = Field(description="storage protocol of the session: S3_MULTIPART")
    bytes_uploaded: int
    total_bytes: int
    part_size_bytes: int = Field(description="size of every part but the last (5 MiB unless the file needs more)")
    total_parts: int
    created_at: datetime
    updated_at: datetime
    fail_reason: str | None = None
    parts: list[StoredPartOut] | None = None


class PartUrlOut(ApiModel):
    """A presigned PUT URL for one part: PUT exactly ``sizeBytes`` bytes there and keep the ``ETag``."""

    part_number: int
    upload_url: str
    expires_at: datetime
    size_bytes: int


class PartUrlsOut(ApiModel):
    """The answer to ``partNumbers``: one URL per part, in the order asked."""

    parts: list[PartUrlOut]


class PartUrlAnswer(RootModel[PartUrlOut | PartUrlsOut]):
    """``POST /api/uploads/{sid}/parts``: a :class:`PartUrlOut` for ``partNumber``, a :class:`PartUrlsOut`
    for ``partNumbers``."""
