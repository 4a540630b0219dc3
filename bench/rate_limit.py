"""The API's per-channel rate limit under concurrency: 700 requests of one channel within one minute
from 8 parallel clients, against a limit of 600/minute, served by gunicorn with 4 worker processes.
Counted both ways the limit can count (docs/architecture.md, "The channel API"): in the database
(core.RateCount, no REDIS_URL) and in Redis (REDIS_URL). The limit holds when exactly 600 are
answered 200 and the rest 429.

    .venv/bin/python bench/rate_limit.py      # writes bench/results/rate_limit.json

Each round starts just after a minute turns, so all its requests fall into one window of the fixed
windows the limit counts in. Redis uses its database 3, emptied before each round."""

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data  # noqa: E402
from bench.api_intake import CLIENTS, MINIMAL_GET, Server, request, run_clients  # noqa: E402

DATABASE = "oc_bench_rate_limit"
REDIS_URL = "redis://127.0.0.1:6379/3"
LIMIT = 600
REQUESTS = 700
SERVER_WORKERS = 4


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="rounds per way of counting")
    return parser.parse_args()


def next_minute():
    """Sleep until just after the minute turns, so a round's requests share one window."""
    time.sleep(60 - time.time() % 60 + 0.2)


def one_round(server, token):
    per_client = REQUESTS // CLIENTS
    jobs = [[lambda: request(server.port, "GET", MINIMAL_GET, token)[0]] * per_client for _ in range(CLIENTS)]
    jobs[0] += [jobs[0][0]] * (REQUESTS - per_client * CLIENTS)
    next_minute()
    seconds, statuses = run_clients(jobs)
    return {"seconds": round(seconds, 2), **{str(code): n for code, n in sorted(statuses.items())}}


def main():
    args = parse_args()
    data.use_database(DATABASE)
    from django.core.management import call_command

    from core.actors import SYSTEM
    from orders.services import issue_token

    call_command("createcachetable")
    channel = data.channel("api", "api", "API")
    token = issue_token(channel.pk, actor=SYSTEM).secret

    import redis

    figures = {}
    for counted_in, settings in [("database", {}), ("redis", {"REDIS_URL": REDIS_URL})]:
        server = Server(DATABASE, workers=SERVER_WORKERS, API_CHANNEL_RATE=f"{LIMIT}/minute", **settings)
        rounds = []
        try:
            server.wait_until_ready(token)
            for _ in range(args.rounds):
                redis.Redis.from_url(REDIS_URL).flushdb()
                rounds.append(one_round(server, token))
                print(f"{counted_in}: {rounds[-1]}")
        finally:
            server.stop()
        allowed = Counter(r.get("200", 0) for r in rounds)
        figures[counted_in] = {"rounds": rounds, "answered_200": sorted(allowed.elements())}

    path = data.write_results(
        "rate_limit",
        databases=[DATABASE],
        figures={
            "limit_per_minute": LIMIT,
            "requests_per_round": REQUESTS,
            "clients": CLIENTS,
            "server_workers": SERVER_WORKERS,
            **figures,
        },
        notes="Each round: 700 minimal GETs of one channel from 8 threads within one window of the limit.",
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
