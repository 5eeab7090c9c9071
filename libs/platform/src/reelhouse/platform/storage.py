"""S3 API access through boto3 (docs/architecture.md, "Object storage": the S3 API, endpoint configurable).

Presigning uses ``request_checksum_calculation="when_required"`` (docs/decisions.md "Object storage: boto3 / S3": since
botocore 1.36 default checksums break presigned part uploads).
"""

from __future__ import annotations

import boto3
from botocore.config import Config

from reelhouse.platform.settings import PlatformSettings


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


def ensure_buckets(settings: PlatformSettings) -> None:
    """Create the private uploads and media buckets if missing, with lifecycle rules: abort multipart
    uploads left incomplete for 7 days, move raw sources to GLACIER after 90 days (docs/architecture.md, "Object storage"),
    and a CORS rule exposing ``ETag`` so browsers can complete multipart uploads."""
    s3 = s3_client(settings)
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    for bucket in (settings.uploads_bucket, settings.media_bucket):
        if bucket not in existing:
            kwargs = {}
            if settings.s3_region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": settings.s3_region}
            s3.create_bucket(Bucket=bucket, **kwargs)
    s3.put_bucket_lifecycle_configuration(
        Bucket=settings.uploads_bucket,
        LifecycleConfiguration={
            "Rules": [
                {"ID": "abort-stale-multipart", "Status": "Enabled", "Filter": {"Prefix": ""},
                 "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}},
                {"ID": "archive-cold-sources", "Status": "Enabled", "Filter": {"Prefix": "sources/"},
                 "Transitions": [{"Days": 90, "StorageClass": "GLACIER"}]},
            ]
        },
    )
    s3.put_bucket_cors(
        Bucket=settings.uploads_bucket,
        CORSConfiguration={"CORSRules": [{"AllowedMethods": ["PUT", "GET", "HEAD"], "AllowedOrigins": ["*"],
                                          "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 3600}]},
    )


async def ensure_buckets_on_startup(app) -> None:  # noqa: ANN001 - FastAPI app
    """Lifespan hook: :func:`ensure_buckets`, retried with exponential backoff for up to 60 s while the
    S3 server starts (tenacity); re-raises the last error after that."""
    import asyncio

    from tenacity import retry, stop_after_delay, wait_exponential

    guarded = retry(stop=stop_after_delay(60), wait=wait_exponential(max=5), reraise=True)(ensure_buckets)
    await asyncio.to_thread(guarded, app.state.settings)
