"""Chat adapters: PostgreSQL (:mod:`.db`, :mod:`.store`), the in-memory hub (:mod:`.hub`) and the
per-replica RabbitMQ fan-out (:mod:`.fanout`)."""
