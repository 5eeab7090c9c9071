"""RabbitMQ topology of one consuming service (docs/events.md; docs/decisions.md "FastStream 0.7").

For service ``svc`` (names use the ``queue_prefix``, default ``reelhouse.``):

- ``reelhouse.events``: the durable topic exchange every event is published to (routing key = event
  type without the ``reelhouse.`` prefix, e.g. ``video.uploaded.v1``).
- ``reelhouse.svc``: the service's durable quorum queue, bound to the routing keys it consumes, with
  ``x-delivery-limit`` (a message that keeps killing its consumer is dead-lettered instead of looping)
  and dead-lettering to ``reelhouse.dlx`` -> ``reelhouse.svc.dlq``.
- ``reelhouse.svc.retry``: a durable wait queue; a failed message is republished there with a per-message
  expiration (exponential backoff) and dead-letters back into ``reelhouse.svc`` when it expires.
- ``reelhouse.svc.dlq``: the dead-letter queue (durable) where poison messages wait for an operator.
"""

from __future__ import annotations

from dataclasses import dataclass

import aio_pika

DLX_EXCHANGE = "reelhouse.dlx"


@dataclass(frozen=True)
class ServiceQueues:
    """Names of the queues of one consuming service."""

    main: str
    retry: str
    dlq: str

    @classmethod
    def for_service(cls, queue_prefix: str, service: str) -> ServiceQueues:
        """Queue names for ``service`` (e.g. ``reelhouse.transcoder``, ``.retry``, ``.dlq``)."""
        main = f"{queue_prefix}{service}"
        return cls(main=main, retry=f"{main}.retry", dlq=f"{main}.dlq")


async def declare_topology(
    channel: aio_pika.abc.AbstractChannel,
    exchange: str,
    queues: ServiceQueues,
    routing_keys: list[str],
    delivery_limit: int,
) -> None:
    """Declare (idempotently) the exchange, the service's three queues and the bindings.

    ``delivery_limit`` is the quorum queue's ``x-delivery-limit`` (redeliveries before dead-lettering).
    Raises aio_pika/aiormq errors, e.g. PRECONDITION_FAILED when a queue exists with other arguments.
    """
    events = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
    dlx = await channel.declare_exchange(DLX_EXCHANGE, aio_pika.ExchangeType.DIRECT, durable=True)
    main = await channel.declare_queue(
        queues.main,
        durable=True,
        arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": delivery_limit,
            "x-dead-letter-exchange": DLX_EXCHANGE,
            "x-dead-letter-routing-key": queues.dlq,
        },
    )
    for key in routing_keys:
        await main.bind(events, routing_key=key)
    await channel.declare_queue(
        queues.retry,
        durable=True,
        arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": queues.main},
    )
    dlq = await channel.declare_queue(queues.dlq, durable=True, arguments={"x-queue-type": "quorum"})
    await dlq.bind(dlx, routing_key=queues.dlq)
