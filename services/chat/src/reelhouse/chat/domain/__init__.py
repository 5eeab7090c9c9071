"""Chat domain rules (no I/O): message validation, the per-user rate limiter, moderation rules and the
client frame protocol. See :mod:`reelhouse.chat.domain.rules`."""
