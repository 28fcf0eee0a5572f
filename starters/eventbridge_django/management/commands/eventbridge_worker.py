"""``manage.py eventbridge_worker``: the push runtime in a process of its own."""

from __future__ import annotations

import asyncio
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from eventbridge_django import _loop
from eventbridge_django._bridge import get_bridge


class Command(BaseCommand):
    help = (
        "Run the push runtime of the project's bridge: deliver events to the targets of its "
        "rules until SIGTERM or SIGINT, then drain in-flight deliveries and stop."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        bridge = get_bridge()
        self.stdout.write(
            f"eventbridge worker {bridge.settings.worker_name}: delivering the rules of "
            f"{', '.join(bridge.buses) or 'no bus'}; stop with SIGTERM or Ctrl-C"
        )
        self.stdout.flush()
        drained = asyncio.run(self._serve())
        if not drained:
            raise CommandError(
                "stopped before every in-flight delivery finished "
                f"(EVENTBRIDGE['RUNTIME']['STOP_TIMEOUT'] = {bridge.settings.runtime.stop_timeout}"
                " s); the rest is delivered again at the next start"
            )
        self.stdout.write("eventbridge worker stopped; everything in flight drained")

    async def _serve(self) -> bool:
        _loop.bind(asyncio.get_running_loop())
        try:
            return await get_bridge().serve()
        finally:
            _loop.unbind()
