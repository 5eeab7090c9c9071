"""Bucket setup against a real S3 store (SeaweedFS): optional by a setting, and never replacing the
lifecycle or CORS rules an operator set; the local store keeps objects across a restart."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError

from reelhouse.platform.storage import UPLOADS_LIFECYCLE_RULES, ensure_buckets, s3_client
from reelhouse.testing import start_object_store, stop_process

pytestmark = pytest.mark.service


@pytest.fixture
def fresh(platform_settings):
    """Settings naming two buckets that do not exist yet."""
    name = f"b{uuid.uuid4().hex[:10]}"
    return platform_settings.model_copy(update={"uploads_bucket": f"{name}-uploads", "media_bucket": f"{name}-media"})


def _buckets(s3) -> set[str]:
    return {b["Name"] for b in s3.list_buckets().get("Buckets", [])}


def _rule_ids(s3, bucket: str) -> list[str]:
    return [r["ID"] for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]]


def test_bucket_setup_off_touches_nothing(fresh):
    off = fresh.model_copy(update={"s3_manage_buckets": False})
    assert ensure_buckets(off) == []
    assert not {fresh.uploads_bucket, fresh.media_bucket} & _buckets(s3_client(fresh))


def test_setup_creates_buckets_and_rules_once(fresh):
    s3 = s3_client(fresh)
    changes = ensure_buckets(fresh)
    assert {fresh.uploads_bucket, fresh.media_bucket} <= _buckets(s3)
    assert f"created bucket {fresh.uploads_bucket}" in changes
    # SeaweedFS implements no storage-class transitions: the archive rule is skipped, the abort rule is set
    assert _rule_ids(s3, fresh.uploads_bucket) == ["reelhouse-abort-stale-multipart"]
    cors = s3.get_bucket_cors(Bucket=fresh.uploads_bucket)["CORSRules"]
    assert cors[0]["ExposeHeaders"] == ["ETag"]
    assert ensure_buckets(fresh) == []  # a second start changes nothing


def test_setup_keeps_the_operators_lifecycle_and_cors_rules(fresh):
    s3 = s3_client(fresh)
    s3.create_bucket(Bucket=fresh.uploads_bucket)
    operator_rule = {"ID": "operator-expire-tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 3}}
    s3.put_bucket_lifecycle_configuration(Bucket=fresh.uploads_bucket, LifecycleConfiguration={"Rules": [operator_rule]})
    operator_cors = {"AllowedMethods": ["GET"], "AllowedOrigins": ["https://app.example"], "ExposeHeaders": ["ETag"]}
    s3.put_bucket_cors(Bucket=fresh.uploads_bucket, CORSConfiguration={"CORSRules": [operator_cors]})

    ensure_buckets(fresh)

    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=fresh.uploads_bucket)["Rules"]}
    assert rules["operator-expire-tmp"]["Expiration"] == {"Days": 3}
    assert "reelhouse-abort-stale-multipart" in rules
    assert [r["AllowedOrigins"] for r in s3.get_bucket_cors(Bucket=fresh.uploads_bucket)["CORSRules"]] == [["https://app.example"]]


def test_every_reelhouse_rule_is_recognised_by_its_id():
    assert all(r["ID"].startswith("reelhouse-") for r in UPLOADS_LIFECYCLE_RULES)


def test_the_local_store_keeps_objects_across_a_restart(tmp_path, platform_settings):
    proc, url = start_object_store(tmp_path)
    try:
        settings = platform_settings.model_copy(update={"s3_endpoint_url": url})
        s3 = s3_client(settings)
        s3.create_bucket(Bucket="restart-check")
        s3.put_object(Bucket="restart-check", Key="videos/a/master.m3u8", Body=b"#EXTM3U\n")
    finally:
        stop_process(proc, grace=2)
    proc, url = start_object_store(tmp_path)  # same data folder, new ports
    try:
        s3 = s3_client(platform_settings.model_copy(update={"s3_endpoint_url": url}))
        assert s3.get_object(Bucket="restart-check", Key="videos/a/master.m3u8")["Body"].read() == b"#EXTM3U\n"
        with pytest.raises(ClientError):
            s3.get_object(Bucket="restart-check", Key="videos/a/missing.ts")
    finally:
        stop_process(proc, grace=2)
