"""Streaming service: the playback projection of transcoded videos and signed playback URLs.

Live streams (stream keys, ingest sessions, ``/api/streams``) belong here too but are a later issue.
"""
