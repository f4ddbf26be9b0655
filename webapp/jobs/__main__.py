"""`python -m webapp.jobs [--workers N]`: the Huey consumer for this instance's queue (JOBS_URL)."""

from __future__ import annotations

import argparse
import logging

from webapp import create_app
from webapp.jobs import jobs_of


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m webapp.jobs", description=__doc__)
    parser.add_argument("--workers", type=int, default=2, help="worker threads (default 2)")
    parser.add_argument("--max-delay", type=float, default=2.0,
                        help="longest pause between polls of an empty queue, in seconds (default 2)")
    options = parser.parse_args()
    app = create_app()
    logging.getLogger("huey").setLevel(app.config["LOG_LEVEL"])
    consumer = jobs_of(app).huey.create_consumer(workers=options.workers, worker_type="thread",
                                                 max_delay=options.max_delay, check_worker_health=True)
    consumer.run()


if __name__ == "__main__":
    main()
