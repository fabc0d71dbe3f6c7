#!/usr/bin/env python3
"""A password flood against aws-iam-exporter's basic auth, and what a scraper sees meanwhile.

Started by scripts/bench-auth-flood.sh (which builds the binary); usable alone:

    python3 scripts/auth_flood.py --bin target/release/aws-iam-exporter [--label after]
        [--connections 1000] [--scenario one|several|shared ...] [--timeout 120]

For each scenario it starts the exporter afresh (so the right password has never been
checked: every password, after a restart), with one user whose hash is bcrypt cost 10, and
opens --connections keep-alive connections that send distinct wrong passwords for that user,
one after the other, without pause. Once every connection has a request in flight it sends
the right password once, on a new connection, and samples /healthz every 50 ms on new
connections until 2 s after the right password's answer. The flood runs in a process of its
own, so its event loop does not delay the probes. Scenarios (source addresses; all of
127.0.0.0/8 is local on Linux):

    one       the flood from 127.0.0.2, the right password from 127.0.0.1
    several   the flood from 127.0.0.2 ... 127.0.0.11, the right password from 127.0.0.1
    shared    the flood and the right password from 127.0.0.2 (a proxy hiding clients)

It prints one markdown table row per scenario: time to the right password's answer and its
status, /healthz latency (median, max), the latency of /metrics scrapes with the right
password once it has been checked (a known-good scraper, during the 2 s after), and the
flood's answers (401 refused after a check, 429 answered unchecked) with their rate.
"""

import argparse
import asyncio
import base64
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

USER = "prometheus"
RIGHT_PASSWORD = "bench-right-password"
# bcrypt cost 10 of RIGHT_PASSWORD, made with Python's crypt module (libxcrypt):
#   crypt.crypt(RIGHT_PASSWORD, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 10))
RIGHT_HASH = "$2b$10$IU5u5ekDwU9yAqrRgQbNOe2B/loxZrbYGSBccxZHN7u.84VSOyDMW"
SCENARIOS = {
    "one": (["127.0.0.2"], "127.0.0.1"),
    "several": ([f"127.0.0.{i}" for i in range(2, 12)], "127.0.0.1"),
    "shared": (["127.0.0.2"], "127.0.0.2"),
}


def basic(user, password):
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return f"Basic {token}"


async def connect(source, port):
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


def send(writer, path, authorization=None):
    auth = f"authorization: {authorization}\r\n" if authorization else ""
    writer.write(f"GET {path} HTTP/1.1\r\nhost: exporter\r\n{auth}\r\n".encode())


async def receive(reader):
    """One HTTP/1.1 response: (status, body)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return status, body


class Flood:
    def __init__(self):
        self.started = 0
        self.statuses = {}
        self.errors = 0
        self.stop = False

    def answered(self):
        return sum(self.statuses.values())

    async def connection(self, i, source, port):
        n = 0
        first = True
        while not self.stop:
            try:
                reader, writer = await connect(source, port)
            except OSError:
                self.errors += 1
                await asyncio.sleep(0.05)
                continue
            try:
                while not self.stop:
                    n += 1
                    send(writer, "/metrics", basic(USER, f"wrong-{i}-{n}"))
                    if first:
                        first = False
                        self.started += 1
                    status, _ = await receive(reader)
                    self.statuses[status] = self.statuses.get(status, 0) + 1
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                self.errors += 1
            finally:
                writer.close()


def timed_get(source, port, path, authorization=None, timeout=120.0):
    """A GET on a new connection, with blocking sockets: (status or None, seconds)."""
    started = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout, (source, 0)) as s:
            auth = f"authorization: {authorization}\r\n" if authorization else ""
            s.sendall(f"GET {path} HTTP/1.1\r\nhost: exporter\r\n{auth}\r\n".encode())
            status_line = s.makefile("rb").readline()
        return int(status_line.split()[1]), time.monotonic() - started
    except (OSError, IndexError, ValueError):
        return None, time.monotonic() - started


def flood_process(port, connections, sources, ready, stop, results):
    """The flood, in a process of its own so that the probes are not delayed by its event
    loop. Sets `ready` once every connection has a request in flight; on `stop`, sends
    (answers by status, connection errors, answers since ready, seconds since ready)."""

    async def run():
        flood = Flood()
        tasks = [
            asyncio.ensure_future(flood.connection(i, sources[i % len(sources)], port))
            for i in range(connections)
        ]
        deadline = time.monotonic() + 60
        while flood.started < connections and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        at_ready, t0 = flood.answered(), time.monotonic()
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        answered, elapsed = flood.answered() - at_ready, time.monotonic() - t0
        flood.stop = True
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        results.send((dict(flood.statuses), flood.errors, answered, elapsed))

    asyncio.run(run())


def run_scenario(port, connections, sources, scraper, timeout):
    ctx = multiprocessing.get_context("fork")
    ready, stop = ctx.Event(), ctx.Event()
    receive_end, send_end = ctx.Pipe(duplex=False)
    flood = ctx.Process(
        target=flood_process, args=(port, connections, sources, ready, stop, send_end)
    )
    flood.start()
    try:
        if not ready.wait(90):
            sys.exit("auth_flood: the flood did not get going within 90 s")
        time.sleep(1.0)  # every connection has a wrong password in flight

        right = {}

        def send_right():
            right["answer"] = timed_get(
                scraper, port, "/metrics", basic(USER, RIGHT_PASSWORD), timeout
            )

        sender = threading.Thread(target=send_right)
        sender.start()
        healthz, scrapes = [], []
        right_done_at = None
        while right_done_at is None or time.monotonic() < right_done_at + 2.0:
            status, took = timed_get("127.0.0.1", port, "/healthz", timeout=30)
            healthz.append(took if status == 200 else float("inf"))
            if right_done_at is None and not sender.is_alive():
                right_done_at = time.monotonic()
            elif right_done_at is not None and right["answer"][0] == 200:
                # Once checked, the right password is a known-good scraper.
                status, took = timed_get(
                    scraper, port, "/metrics", basic(USER, RIGHT_PASSWORD), timeout=30
                )
                scrapes.append(took if status == 200 else float("inf"))
            time.sleep(0.05)
        sender.join()
        stop.set()
        statuses, errors, answered, elapsed = receive_end.recv()
    finally:
        stop.set()
        flood.join(30)
        if flood.is_alive():
            flood.kill()
    right_status, right_took = right["answer"]
    return {
        "right_status": right_status,
        "right_seconds": right_took,
        "healthz_median": statistics.median(healthz),
        "healthz_max": max(healthz),
        "healthz_samples": len(healthz),
        "scrape_median": statistics.median(scrapes) if scrapes else None,
        "scrape_max": max(scrapes) if scrapes else None,
        "statuses": statuses,
        "errors": errors,
        "answers_per_second": answered / elapsed,
    }


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_exporter(binary, root, workdir):
    web = os.path.join(workdir, "web.yml")
    with open(web, "w") as f:
        f.write(f"basic_auth_users:\n  {USER}: {RIGHT_HASH}\n")
    port = free_port()
    log = open(os.path.join(workdir, f"exporter-{port}.log"), "w")
    proc = subprocess.Popen(
        [
            binary,
            "--credential-report.file",
            os.path.join(root, "tests/fixtures/reports/full.csv"),
            "--web.config.file",
            web,
            "--web.listen-address",
            f"127.0.0.1:{port}",
            "--log.level",
            "warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                if r.status == 200:
                    return proc, port
        except OSError:
            pass
        if proc.poll() is not None:
            sys.exit(f"auth_flood: the exporter exited ({proc.returncode}); see {log.name}")
        time.sleep(0.1)
    proc.kill()
    sys.exit("auth_flood: the exporter was not ready within 30 s")


def fmt_seconds(s):
    if s < 0.01:
        return f"{s * 1000:.1f} ms"
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.1f} s"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", required=True)
    parser.add_argument("--label", default="")
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS))
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--header", action="store_true", help="print the table header first")
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    label = args.label or os.path.basename(args.bin)
    if args.header:
        print(
            "| build | flood from | right password from | right password answered | "
            "/healthz median (max) | known-good scrape median (max) | "
            "flood answers: 401 checked / 429 unchecked (per second) |"
        )
        print("|---|---|---|---:|---:|---:|---:|")
    for name in args.scenario or ["one", "several", "shared"]:
        sources, scraper = SCENARIOS[name]
        with tempfile.TemporaryDirectory(prefix="auth-flood-") as workdir:
            proc, port = start_exporter(args.bin, root, workdir)
            try:
                r = run_scenario(port, args.connections, sources, scraper, args.timeout)
            finally:
                proc.kill()
                proc.wait()
        if r["right_status"] is None:
            right = f"no answer in {args.timeout:.0f} s"
        else:
            right = f"{fmt_seconds(r['right_seconds'])} ({r['right_status']})"
        statuses = r["statuses"]
        if r["scrape_median"] is None:
            scrape = "-"
        else:
            scrape = f"{fmt_seconds(r['scrape_median'])} ({fmt_seconds(r['scrape_max'])})"
        flood_from = sources[0] if len(sources) == 1 else f"{sources[0]}-{sources[-1].split('.')[-1]}"
        print(
            f"| {label} | {args.connections} connections, {flood_from} | {scraper} | {right} | "
            f"{fmt_seconds(r['healthz_median'])} ({fmt_seconds(r['healthz_max'])}) | "
            f"{scrape} | {statuses.get(401, 0)} / {statuses.get(429, 0)} ({r['answers_per_second']:.0f}/s) |",
            flush=True,
        )
        others = {k: v for k, v in statuses.items() if k not in (401, 429)}
        if others or r["errors"]:
            print(f"auth_flood: {name}: other statuses {others}, {r['errors']} connection errors",
                  file=sys.stderr)


if __name__ == "__main__":
    main()
