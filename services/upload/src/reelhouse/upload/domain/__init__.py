"""Upload domain rules: the upload-session state machine and part planning (no I/O)."""
