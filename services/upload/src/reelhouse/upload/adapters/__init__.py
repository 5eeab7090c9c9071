"""Upload adapters: database tables and the S3 multipart client."""
