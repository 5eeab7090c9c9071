"""Streaming service: the playback projection of transcoded videos and signed playback URLs, and live
streams (stream keys, the nginx-rtmp ingest's callbacks, live HLS playback, recordings -> VOD)."""
