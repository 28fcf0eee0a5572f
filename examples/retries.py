"""Retries and dead letters: a flaky payment gateway, an expired card, a fix and a replay.

Run it with ``python examples/retries.py`` (events are kept in ``./.eventbridge/events.db``).
The gateway fails twice for order o-1, which is retried and charged; order o-2's card is
expired, so its event goes to the ``payments-failed`` dead-letter bus. Once the card is
updated, the dead letter is replayed to the target that failed it.
"""

from __future__ import annotations

import asyncio

from eventbridge_sdk import DeadLetter, Event, EventBridge, RetryPolicy

bridge = EventBridge()
orders = bridge.bus("orders")
paid = orders.rule("paid", pattern={"type": ["order.paid"]})

gateway_timeouts = {"o-1": 2}  # the gateway times out twice on o-1
expired_cards = {"o-2"}


@paid.target(
    retry=RetryPolicy(max_attempts=4, backoff="exponential", initial_delay=0.1, jitter=0),
    dead_letter="payments-failed",
)
async def charge(event: Event) -> None:
    order = event.data["order"]
    if order in expired_cards:
        raise DeadLetter(f"card of {order} expired")  # retrying would not help
    if gateway_timeouts.get(order, 0):
        gateway_timeouts[order] -= 1
        raise ConnectionError("payment gateway timed out")  # retried
    print(f"charge: charged {order}")


async def main() -> None:
    async with bridge:
        await bridge.publish(
            "orders",
            [
                Event(type="order.paid", source="/shop", data={"order": "o-1"}),
                Event(type="order.paid", source="/shop", data={"order": "o-2"}),
            ],
        )
        await bridge.wait_idle(10, retries=True)  # first attempts, then every retry

        for letter in await bridge.dead_letters.list():
            print(
                f"dead letter: {letter.event.data['order']} failed in {letter.runner} "
                f"after {letter.attempts} attempt(s) ({letter.reason}): {letter.error}"
            )

        expired_cards.clear()  # the customer updated the card
        replayed = await bridge.dead_letters.replay(target="charge")
        print(f"replayed {replayed} dead letter(s)")
        await bridge.wait_idle(10, retries=True)

        [target] = (await bridge.status()).targets
        counts = target.counts
        print(
            f"status: {counts.delivered} charged, {counts.retried} retries, "
            f"{counts.dead_lettered} dead-lettered, "
            f"{len(await bridge.dead_letters.list())} dead letters left"
        )


if __name__ == "__main__":
    asyncio.run(main())
