"""Streaming domain rules (no I/O): who may play a video, which keys a playback URL may grant, how
long URLs live, and which transcode result wins."""
