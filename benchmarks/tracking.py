"""Benchmark: page-view events per second through the real collection endpoint on SQLite.

    .venv/bin/python benchmarks/tracking.py [--seconds 20] [--clients 8] [--batch 25] [--port 8765]

Starts Rapport as `make run` does (`rapport serve`: Django's threaded server) on loopback, over
its own fresh SQLite file and folder under var/bench/tracking/ (DATABASE_URL unset), with debug
off as in production. A load generator then posts batches of page views concurrently over
keep-alive connections for a fixed time, as the tracking script would from many browsers:
each client is one visitor id per batch (a new visitor every tenth batch, so visitors are both
created and found), with real-looking URLs, titles, referrers and UTM parameters.

Prints events/s, requests/s, the server process's CPU time and events per CPU second (the
capacity of one busy core, which other work on a shared machine hides from the wall clock), p50/p95/max request latency, refused requests, the load average,
and checks that the database holds exactly the events the server accepted. Target: at least
2,000 events/s. The last line is one line of JSON with the figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_EVENTS_PER_SECOND = 2000
ORIGIN = "https://www.bench-shop.example"
PAGES = ["/", "/pricing", "/features", "/blog/why-crm", "/blog/lead-scoring", "/customers", "/contact",
         "/docs/getting-started", "/integrations", "/about"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def server_env(var_dir: Path) -> dict[str, str]:
    env = os.environ.copy()
    env.update({
        "DATABASE_URL": f"sqlite:///{var_dir / 'tracking.sqlite3'}",
        "RAPPORT_VAR_DIR": str(var_dir),
        "RAPPORT_DEBUG": "false",
        "RAPPORT_SECRET_KEY": secrets.token_urlsafe(50),
        "RAPPORT_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "RAPPORT_SSL_REDIRECT": "false",
        "DJANGO_SETTINGS_MODULE": "rapport.settings",
    })
    return env


SETUP = """
import django
django.setup()
from django.contrib.auth import get_user_model
from rapport.core.models import Profile, Role
from rapport.leads.capture.building import save_site
admin = get_user_model().objects.get(username="admin")
Profile.objects.filter(user=admin).update(role=Role.ADMIN)
admin.refresh_from_db()
site = save_site(actor=admin, data={"name": "Bench shop", "origins": [ORIGIN], "consent_mode": "always"})
print(site.key)
""".replace("ORIGIN", repr(ORIGIN))


def make_batch(site_key: str, visitor: str, size: int, counter: int) -> bytes:
    now = int(time.time() * 1000)
    events = []
    for i in range(size):
        page = PAGES[(counter + i) % len(PAGES)]
        events.append({
            "url": f"{ORIGIN}{page}?utm_source=newsletter&utm_medium=email&utm_campaign=bench-{counter % 7}",
            "referrer": f"{ORIGIN}{PAGES[(counter + i + 3) % len(PAGES)]}",
            "title": f"Bench shop · {page.strip('/') or 'home'}",
            "utm": {"source": "newsletter", "medium": "email", "campaign": f"bench-{counter % 7}"},
            "at": now - (size - i) * 1000,
        })
    return json.dumps({"site": site_key, "visitor": visitor, "consent": True, "events": events}).encode()


def client(port: int, site_key: str, batch: int, until: float, results: dict, lock: threading.Lock, number: int):
    latencies: list[float] = []
    accepted = refused = failed = 0
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    counter = 0
    visitor = secrets.token_hex(16)
    headers = {"Content-Type": "text/plain;charset=UTF-8", "Origin": ORIGIN}
    while time.perf_counter() < until:
        if counter % 10 == 0:
            visitor = secrets.token_hex(16)
        body = make_batch(site_key, visitor, batch, counter * 31 + number)
        counter += 1
        started = time.perf_counter()
        try:
            connection.request("POST", "/t/collect", body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            failed += 1
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        latencies.append(time.perf_counter() - started)
        if response.status == 202:
            accepted += json.loads(data)["accepted"]
        else:
            refused += 1
            if refused <= 3:
                print(f"  refused ({response.status}): {data[:200]!r}", flush=True)
        if response.getheader("Connection", "").lower() == "close":
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.close()
    with lock:
        results["latencies"].extend(latencies)
        results["accepted"] += accepted
        results["refused"] += refused
        results["failed"] += failed


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), to judge the server apart from the machine's load."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for(port: int, server: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped (exit code {server.returncode})")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("OPTIONS", "/t/collect", headers={"Origin": ORIGIN})
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the server did not start in time")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="How long the load runs")
    parser.add_argument("--clients", type=int, default=8, help="Concurrent connections")
    parser.add_argument("--batch", type=int, default=25, help="Page views per batch (the script sends up to 50)")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    var_dir = ROOT / "var" / "bench" / "tracking"
    shutil.rmtree(var_dir, ignore_errors=True)
    var_dir.mkdir(parents=True)
    env = server_env(var_dir)
    rapport = [sys.executable, "-m", "rapport"]
    print("Preparing a fresh database (rapport serve --setup-only)…", flush=True)
    subprocess.run([*rapport, "serve", "--no-demo", "--setup-only"], env=env, check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    site_key = subprocess.run([sys.executable, "-c", SETUP], env=env, check=True, cwd=ROOT, capture_output=True,
                              text=True).stdout.strip().splitlines()[-1]
    server = subprocess.Popen([*rapport, "serve", "--no-demo", "--no-worker", "--host", "127.0.0.1",
                               "--port", str(args.port)], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_for(args.port, server)
        # Warm-up: the first requests import the URL configuration and open connections.
        warm = {"latencies": [], "accepted": 0, "refused": 0, "failed": 0}
        client(args.port, site_key, args.batch, time.perf_counter() + 1.5, warm, threading.Lock(), 0)
        print(f"Load: {args.clients} concurrent clients posting batches of {args.batch} page views for "
              f"{args.seconds:.0f} s…", flush=True)
        results = {"latencies": [], "accepted": 0, "refused": 0, "failed": 0}
        lock = threading.Lock()
        load_before = os.getloadavg()
        server_cpu_before = cpu_seconds(server.pid)
        started = time.perf_counter()
        until = started + args.seconds
        threads = [threading.Thread(target=client, args=(args.port, site_key, args.batch, until, results, lock, n))
                   for n in range(1, args.clients + 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        server_cpu = cpu_seconds(server.pid) - server_cpu_before
        load_after = os.getloadavg()
    finally:
        server.terminate()
        server.wait(timeout=20)

    check = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from rapport.timeline.models import Event; "
                               "print(Event.objects.filter(kind='page_view').count())"],
        env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    stored = int(check.stdout.strip().splitlines()[-1])
    expected = results["accepted"] + warm["accepted"]
    latencies = results["latencies"]
    requests = len(latencies)
    events_per_second = results["accepted"] / elapsed
    p50, p95 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.95) * 1000
    peak = max(latencies) * 1000 if latencies else float("nan")
    print()
    print(f"{'measure':<34}{'value':>14}")
    print("-" * 48)
    rows = [
        ("page-view events stored per second", f"{events_per_second:,.0f}"),
        ("batches (requests) per second", f"{requests / elapsed:,.1f}"),
        ("events accepted", f"{results['accepted']:,}"),
        ("request latency p50 (ms)", f"{p50:,.1f}"),
        ("request latency p95 (ms)", f"{p95:,.1f}"),
        ("request latency max (ms)", f"{peak:,.1f}"),
        ("server CPU seconds used", f"{server_cpu:,.1f}"),
        ("events per server CPU second", f"{results['accepted'] / server_cpu:,.0f}"),
        ("refused requests", f"{results['refused']:,}"),
        ("failed connections", f"{results['failed']:,}"),
        ("events in the database", f"{stored:,} (expected {expected:,})"),
        ("load average before / after", f"{load_before[0]:.2f} / {load_after[0]:.2f}"),
    ]
    for name, value in rows:
        print(f"{name:<34}{value:>14}")
    verdict = "meets" if events_per_second >= TARGET_EVENTS_PER_SECOND else "MISSES"
    print(f"\n{verdict} the target of {TARGET_EVENTS_PER_SECOND:,} events/s "
          f"({os.cpu_count()} CPUs shared with whatever else runs; compare runs on a quiet machine).")
    print(json.dumps({
        "benchmark": "tracking", "events_per_second": round(events_per_second, 1),
        "requests_per_second": round(requests / elapsed, 2), "batch": args.batch, "clients": args.clients,
        "seconds": round(elapsed, 2), "accepted": results["accepted"], "refused": results["refused"],
        "failed": results["failed"], "stored_matches": stored == expected,
        "server_cpu_seconds": round(server_cpu, 2),
        "events_per_server_cpu_second": round(results["accepted"] / server_cpu, 1),
        "p50_ms": round(p50, 2), "p95_ms": round(p95, 2), "max_ms": round(peak, 2),
        "load_average": [round(load_before[0], 2), round(load_after[0], 2)],
        "target_events_per_second": TARGET_EVENTS_PER_SECOND, "meets_target": events_per_second >= TARGET_EVENTS_PER_SECOND,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
