"""S3 API access through boto3 (docs/architecture.md, "Object storage": the S3 API, endpoint configurable).

Presigning uses ``request_checksum_calculation="when_required"`` (docs/decisions.md "Object storage: boto3 / S3": since
botocore 1.36 default checksums break presigned part uploads).
"""

from __future__ import annotations

import logging

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from reelhouse.platform.settings import PlatformSettings

log = logging.getLogger(__name__)


def s3_client(settings: PlatformSettings, public: bool = False):  # noqa: ANN201 - botocore client
    """A boto3 S3 client (path-style addressing, SigV4). ``public=True`` uses the endpoint clients reach
    (``s3_public_endpoint_url``) so presigned URLs handed to clients carry the right host."""
    endpoint = (settings.s3_public_endpoint_url or settings.s3_endpoint_url) if public else settings.s3_endpoint_url
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"max_attempts": 5, "mode": "standard"},
        ),
    )


#: Lifecycle rules Reelhouse adds to the uploads bucket (docs/architecture.md, "Object storage"),
#: recognised by their IDs.
UPLOADS_LIFECYCLE_RULES: tuple[dict, ...] = (
    {"ID": "reelhouse-abort-stale-multipart", "Status": "Enabled", "Filter": {"Prefix": ""},
     "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}},
    {"ID": "reelhouse-archive-cold-sources", "Status": "Enabled", "Filter": {"Prefix": "sources/"},
     "Transitions": [{"Days": 90, "StorageClass": "GLACIER"}]},
)
#: The CORS rule of the uploads bucket: browsers PUT parts and must read ``ETag`` to complete.
UPLOADS_CORS_RULE = {"ID": "reelhouse-browser-uploads", "AllowedMethods": ["PUT", "GET", "HEAD"], "AllowedOrigins": ["*"],
                     "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 3600}


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def ensure_buckets(settings: PlatformSettings) -> list[str]:
    """Prepare the private uploads and media buckets; returns what it changed, one line each (empty when
    nothing was needed). Does nothing when ``settings.s3_manage_buckets`` is false.

    - creates a missing bucket;
    - adds the lifecycle rules of :data:`UPLOADS_LIFECYCLE_RULES` to the uploads bucket (abort multipart
      uploads left incomplete for 7 days, move raw sources to GLACIER after 90 days) *beside* the rules
      already there: a rule an operator set is never changed or removed, and a Reelhouse rule already
      present (same ID) is left as it is. A store that does not implement storage-class transitions
      (SeaweedFS answers NotImplemented) gets the other rules only;
    - adds the CORS rule exposing ``ETag`` when the bucket has no CORS configuration (an operator's
      configuration is kept as it is).

    S3 API only (AWS S3, MinIO, R2, SeaweedFS). Raises botocore's ClientError on refusals other than
    the missing-configuration answers (for example AccessDenied without bucket-admin rights)."""
    if not settings.s3_manage_buckets:
        return []
    s3 = s3_client(settings)
    changes: list[str] = []
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    for bucket in (settings.uploads_bucket, settings.media_bucket):
        if bucket not in existing:
            kwargs = {}
            if settings.s3_region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": settings.s3_region}
            s3.create_bucket(Bucket=bucket, **kwargs)
            changes.append(f"created bucket {bucket}")
    bucket = settings.uploads_bucket
    try:
        current = s3.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", [])
    except ClientError as exc:
        if _error_code(exc) != "NoSuchLifecycleConfiguration":
            raise
        current = []
    present = {r.get("ID") for r in current}
    missing = [dict(r) for r in UPLOADS_LIFECYCLE_RULES if r["ID"] not in present]
    while missing:
        try:
            s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [*current, *missing]})
            changes.append(f"added lifecycle rules {', '.join(r['ID'] for r in missing)} to {bucket}")
            break
        except ClientError as exc:
            if _error_code(exc) != "NotImplemented" or not any("Transitions" in r for r in missing):
                raise
            missing = [r for r in missing if "Transitions" not in r]  # the store cannot archive: skip that rule
    try:
        s3.get_bucket_cors(Bucket=bucket)
    except ClientError as exc:
        if _error_code(exc) != "NoSuchCORSConfiguration":
            raise
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [UPLOADS_CORS_RULE]})
        changes.append(f"added the browser-upload CORS rule to {bucket}")
    for line in changes:
        log.info("storage: %s", line)
    return changes


async def ensure_buckets_on_startup(app) -> None:  # noqa: ANN001 - FastAPI app
    """Lifespan hook: :func:`ensure_buckets`, retried with exponential backoff for up to 60 s while the
    S3 server starts (tenacity); re-raises the last error after that."""
    import asyncio

    from tenacity import retry, stop_after_delay, wait_exponential

    guarded = retry(stop=stop_after_delay(60), wait=wait_exponential(max=5), reraise=True)(ensure_buckets)
    await asyncio.to_thread(guarded, app.state.settings)
