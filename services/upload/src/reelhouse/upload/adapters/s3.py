"""S3 multipart operations for upload sessions (boto3; docs/decisions.md "Object storage: boto3 / S3").

Blocking boto3 calls; the HTTP layer runs them through ``asyncio.to_thread``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from reelhouse.platform.settings import PlatformSettings
from reelhouse.platform.storage import s3_client


class UploadGone(LookupError):
    """S3 no longer knows the multipart upload (completed, aborted, or removed by the bucket's
    AbortIncompleteMultipartUpload lifecycle rule)."""


@dataclass(frozen=True)
class StoredPart:
    """A part S3 holds: ``etag`` without quotes, ``size`` in bytes, ``last_modified`` when S3 stored it
    (None when the provider does not say)."""

    part_number: int
    etag: str
    size: int
    last_modified: datetime | None = None


class MultipartStore:
    """Creates, presigns, lists, completes and aborts multipart uploads in the uploads bucket."""

    def __init__(self, settings: PlatformSettings, url_ttl_seconds: int = 900) -> None:
        self.settings = settings
        self.bucket = settings.uploads_bucket
        self.url_ttl_seconds = url_ttl_seconds
        self._client = s3_client(settings)
        self._public = s3_client(settings, public=True)

    def create(self, key: str, mime: str) -> str:
        """Start a multipart upload of ``key``; returns the provider upload id."""
        return self._client.create_multipart_upload(Bucket=self.bucket, Key=key, ContentType=mime)["UploadId"]

    def presign_part(self, key: str, upload_id: str, part_number: int, size_bytes: int) -> tuple[str, datetime]:
        """A presigned PUT URL for one part and its expiry (UTC); valid ``url_ttl_seconds`` seconds.

        ``size_bytes`` (the part's planned size, from the session's part plan) is signed as the request's
        ``Content-Length`` (SigV4 ``X-Amz-SignedHeaders`` includes ``content-length``): S3 refuses a PUT
        of any other length with ``SignatureDoesNotMatch``, so a client cannot store more than planned
        through the URL (issue 10 item 7; docs/security.md "Uploads")."""
        url = self._public.generate_presigned_url(
            "upload_part",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "UploadId": upload_id,
                "PartNumber": part_number,
                "ContentLength": size_bytes,
            },
            ExpiresIn=self.url_ttl_seconds,
        )
        return url, datetime.now(UTC) + timedelta(seconds=self.url_ttl_seconds)

    def list_parts(self, key: str, upload_id: str, prefer: Mapping[int, str] | None = None) -> list[StoredPart]:
        """Every part stored so far, one per part number, in part-number order (paginates past 1,000 parts).

        On S3 a part uploaded again replaces the earlier one. Some S3-compatible stores (SeaweedFS) list
        every upload of the same part number until completion; then the version whose ETag is
        ``prefer[part_number]`` (the one the client says it uploaded last) is kept, else the most recent.

        Raises :class:`UploadGone` when S3 no longer holds the upload (was: botocore's NoSuchUpload,
        which the routes answered with a 500)."""
        prefer = prefer or {}
        chosen: dict[int, tuple[tuple[bool, object], StoredPart]] = {}
        marker = 0
        while True:
            try:
                resp = self._client.list_parts(Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker, MaxParts=1000)
            except self._client.exceptions.NoSuchUpload as exc:
                raise UploadGone(upload_id) from exc
            for p in resp.get("Parts", []):
                part = StoredPart(int(p["PartNumber"]), p["ETag"].strip('"'), int(p["Size"]), p.get("LastModified"))
                rank = (prefer.get(part.part_number) == part.etag, p.get("LastModified") or datetime.min.replace(tzinfo=UTC))
                if part.part_number not in chosen or rank > chosen[part.part_number][0]:
                    chosen[part.part_number] = (rank, part)
            if not resp.get("IsTruncated"):
                return [chosen[n][1] for n in sorted(chosen)]
            marker = int(resp["NextPartNumberMarker"])

    def complete(self, key: str, upload_id: str, parts: list[StoredPart]) -> tuple[str, int]:
        """Complete the upload; returns the object's ETag (checksum) and size in bytes."""
        self._client.complete_multipart_upload(
            Bucket=self.bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": p.part_number, "ETag": f'"{p.etag}"'} for p in parts]},
        )
        head = self._client.head_object(Bucket=self.bucket, Key=key)
        return head["ETag"].strip('"'), int(head["ContentLength"])

    def head(self, key: str) -> tuple[str, int] | None:
        """The object's ETag (unquoted) and size in bytes, or None when there is no such object."""
        try:
            head = self._client.head_object(Bucket=self.bucket, Key=key)
        except self._client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return head["ETag"].strip('"'), int(head["ContentLength"])

    def read_head(self, key: str, length: int) -> bytes:
        """The first ``length`` bytes of a completed object (a ranged GET, ``Range: bytes=0-<length-1>``;
        fewer when the object is shorter). Raises botocore's ClientError when the object is missing."""
        got = self._client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{length - 1}")
        return got["Body"].read(length)

    def abort(self, key: str, upload_id: str) -> None:
        """Abort the upload and free its parts (missing uploads are ignored)."""
        try:
            self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except self._client.exceptions.NoSuchUpload:
            pass

    def delete_object(self, key: str) -> None:
        """Delete a completed source object (idempotent)."""
        self._client.delete_object(Bucket=self.bucket, Key=key)
