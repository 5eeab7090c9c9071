"""Upload service: resumable S3 multipart upload sessions with presigned part URLs."""
