"""Presigned part URLs against a real S3 store that checks signatures (SeaweedFS, issue 11 item 1):
what the storage itself refuses or accepts when a client uses the URL the upload API hands out.

- a URL with one signature character changed: 403 from storage, nothing stored;
- a URL past its expiry: 403 from storage;
- a URL for one key used for another key (or another part of the upload): 403;
- a part PUT with a form content type (what ``curl --data-binary`` sends) is stored and completes.
"""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from reelhouse.contracts.events import VideoCreatedV1
from reelhouse.platform.storage import ensure_buckets, s3_client
from reelhouse.testing import auth_headers, footage_dir, publish_event, running_service, wait_until
from reelhouse.upload.adapters.s3 import MultipartStore
from reelhouse.upload.main import build_service

pytestmark = pytest.mark.service

CLIP = footage_dir() / "bigbuckbunny.mp4"


@pytest.fixture(scope="module")
def upload(platform_settings):
    """(test client of the upload service, boto3 client of the same store)."""
    ensure_buckets(platform_settings)
    with running_service(build_service(platform_settings)) as client:
        yield client, s3_client(platform_settings)


@pytest.fixture
def session(upload, platform_settings):
    """An open upload session of a fresh 1-part video: (headers, session id, presigned URL of part 1)."""
    client, _ = upload
    owner = f"owner-{uuid.uuid4().hex[:8]}"
    headers = auth_headers(platform_settings, owner)
    vid = uuid.uuid4()
    size = CLIP.stat().st_size
    publish_event(platform_settings, VideoCreatedV1(video_id=vid, owner_id=owner, title="clip", source_mime="video/mp4", source_size_bytes=size))

    def opened():
        r = client.post(f"/api/videos/{vid}/uploads", json={"sourceMime": "video/mp4", "sourceSizeBytes": size}, headers=headers)
        return r if r.status_code == 201 else None

    sid = wait_until(opened, message="the upload service knows the video").json()["uploadSessionId"]
    r = client.post(f"/api/uploads/{sid}/parts", json={"partNumber": 1}, headers=headers)
    assert r.status_code == 200, r.text
    return headers, sid, r.json()["uploadUrl"]


def _upload_ids(s3, bucket: str) -> dict[str, str]:
    """Key -> UploadId of every multipart upload in progress in ``bucket``."""
    return {u["Key"]: u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])}


def _stored_parts(s3, bucket: str, url: str) -> list[int]:
    """Part numbers S3 holds for the upload a presigned part URL belongs to."""
    query = dict(p.split("=", 1) for p in httpx.URL(url).query.decode().split("&"))
    key = httpx.URL(url).path.split("/", 2)[2]
    return [p["PartNumber"] for p in s3.list_parts(Bucket=bucket, Key=key, UploadId=query["uploadId"]).get("Parts", [])]


def _tamper(url: str) -> str:
    """The same URL with the first character of its signature changed."""
    head, sig = url.split("X-Amz-Signature=", 1)
    return f"{head}X-Amz-Signature={'1' if sig[0] != '1' else '2'}{sig[1:]}"


def test_a_tampered_upload_url_is_refused_by_storage(upload, session, platform_settings):
    _, s3 = upload
    _, _, url = session
    r = httpx.put(_tamper(url), content=CLIP.read_bytes(), timeout=30)
    assert r.status_code == 403
    assert b"SignatureDoesNotMatch" in r.content
    assert _stored_parts(s3, platform_settings.uploads_bucket, url) == []
    assert httpx.put(url, content=CLIP.read_bytes(), timeout=30).status_code == 200  # the genuine URL works


def test_an_expired_upload_url_is_refused_by_storage(upload, platform_settings):
    _, s3 = upload
    store = MultipartStore(platform_settings, url_ttl_seconds=1)
    key = f"sources/expiry-{uuid.uuid4().hex}.mp4"
    upload_id = store.create(key, "video/mp4")
    url, _ = store.presign_part(key, upload_id, 1, len(b"late bytes"))
    time.sleep(2.2)
    r = httpx.put(url, content=b"late bytes", timeout=30)
    assert r.status_code == 403
    assert b"expired" in r.content.lower()
    assert s3.list_parts(Bucket=platform_settings.uploads_bucket, Key=key, UploadId=upload_id).get("Parts", []) == []


def test_an_upload_url_cannot_write_another_key_or_part(upload, session, platform_settings):
    _, s3 = upload
    _, _, url = session
    bucket = platform_settings.uploads_bucket
    path = httpx.URL(url).path
    other_key = url.replace(path, path.rsplit("/", 1)[0] + "/someone-elses.mp4", 1)
    assert httpx.put(other_key, content=b"intruder", timeout=30).status_code == 403
    other_part = url.replace("partNumber=1", "partNumber=2")
    assert other_part != url
    assert httpx.put(other_part, content=b"intruder", timeout=30).status_code == 403
    assert _stored_parts(s3, bucket, url) == []
    with pytest.raises(s3.exceptions.ClientError):
        s3.head_object(Bucket=bucket, Key=path.split("/", 2)[2].rsplit("/", 1)[0] + "/someone-elses.mp4")


def test_a_form_encoded_part_put_is_stored_and_completes(upload, session):
    client, _ = upload
    headers, sid, url = session
    data = CLIP.read_bytes()
    # what `curl --data-binary @clip.mp4 <url>` sends
    r = httpx.put(url, content=data, headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=30)
    assert r.status_code == 200, r.text
    etag = r.headers["etag"].strip('"')
    done = client.post(f"/api/uploads/{sid}/complete", json={"parts": [{"partNumber": 1, "etag": etag}]}, headers=headers)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "COMPLETED"


def test_a_part_uploaded_again_replaces_the_earlier_one(upload, session, platform_settings):
    """S3 keeps the last upload of a part; SeaweedFS lists both until completion, and the upload service
    completes with the version whose ETag the client sent."""
    client, s3 = upload
    headers, sid, url = session
    data = CLIP.read_bytes()
    first = httpx.put(url, content=data[::-1], timeout=30)  # a broken first attempt: same size, other bytes
    second = httpx.put(url, content=data, timeout=30)
    assert first.status_code == second.status_code == 200
    etag = second.headers["etag"].strip('"')
    listed = client.get(f"/api/uploads/{sid}", headers=headers).json()["parts"]
    assert [p["partNumber"] for p in listed] == [1]
    done = client.post(f"/api/uploads/{sid}/complete", json={"parts": [{"partNumber": 1, "etag": etag}]}, headers=headers)
    assert done.status_code == 200, done.text
    key = httpx.URL(url).path.split("/", 2)[2]
    assert s3.get_object(Bucket=platform_settings.uploads_bucket, Key=key)["Body"].read() == data
