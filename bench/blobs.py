#!/usr/bin/env python3
"""Blob upload/download throughput through the API, next to writing the store directly.

    python bench/blobs.py [--sizes 1,16,256] [--repeat 3] [--moto | --s3-endpoint URL --s3-bucket B]

Serves Orbiter (`orbiter serve`, one worker, embedded SQLite, rate limits off) on loopback
with the local blob store (default) or S3 (`--moto` starts a moto server; or name a real
endpoint and bucket, credentials from ORBITER_S3_ACCESS_KEY_ID / _SECRET_ACCESS_KEY). For each
size it uploads fresh random bytes with `PUT /api/v1/blobs/upload/{hash}` and downloads them
with `GET /api/v1/blobs/download/{hash}` (API key auth), and moves the same bytes straight to
the store: a file written in 1 MiB chunks, fsynced and renamed, then read back (local), or
boto3 with the server's part size and one part at a time (S3). Both sides do the same work:
the direct write fsyncs the file and its directory as the local store does. The rounds of
API and direct transfers are interleaved; each figure is the median of `--repeat` rounds.
Prints MB/s for both, the ratio API/direct (target >= 0.7), and the server process's peak RSS
growth over the whole run (target < 64 MB: no blob is ever held in memory). Any error response
fails the run. Exit status 0 when every target is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import io
import os
import statistics
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import run_tests as services  # type: ignore[import-not-found]  # noqa: E402
from http_overhead import (  # type: ignore[import-not-found]  # noqa: E402
    embedded_env,
    http_ok,
    info,
    serve_orbiter,
    start_process,
    stop_servers_on_signals,
)

VENV_BIN = Path(sys.executable).parent
MB = 1024 * 1024
CHUNK = MB
S3_PART = 8 * MB
TARGET_RATIO = 0.7
TARGET_RSS_MB = 64
PASSWORD = "correct horse battery staple"


@dataclass
class S3Options:
    endpoint: str
    bucket: str
    access_key: str
    secret_key: str
    region: str

    def client(self):  # type: ignore[no-untyped-def]
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint or None,
            aws_access_key_id=self.access_key or None,
            aws_secret_access_key=self.secret_key or None,
            region_name=self.region,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )


# --------------------------------------------------------------------------------------------
# Server and process memory


def start_orbiter(stack: contextlib.ExitStack, s3: S3Options | None) -> tuple[str, int, Path]:
    env = embedded_env(stack, "orbiter-bench-blobs-", ORBITER_BLOB_STORE="s3" if s3 else "local")
    data_dir = Path(env["ORBITER_DATA_DIR"])
    if s3:
        env |= {
            "ORBITER_S3_ENDPOINT_URL": s3.endpoint,
            "ORBITER_S3_BUCKET": s3.bucket,
            "ORBITER_S3_ACCESS_KEY_ID": s3.access_key,
            "ORBITER_S3_SECRET_ACCESS_KEY": s3.secret_key,
            "ORBITER_S3_REGION": s3.region,
        }
    base_url, pid = serve_orbiter(stack, env, workdir=data_dir)
    return base_url, pid, data_dir


def start_moto(stack: contextlib.ExitStack) -> S3Options:
    (port,) = services.free_ports(1)
    workdir = services.make_temp_dir(stack, "orbiter-bench-moto-")
    argv = [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    server = start_process(stack, "moto", argv, services.base_env(), workdir)
    endpoint = f"http://127.0.0.1:{port}"
    services.wait_until(server, lambda: http_ok(f"{endpoint}/moto-api/"))
    options = S3Options(endpoint, "orbiter-bench", "testing", "testing", "us-east-1")
    options.client().create_bucket(Bucket=options.bucket)
    return options


def proc_status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def reset_peak_rss(pid: int) -> bool:
    """Linux: writing 5 to clear_refs resets VmHWM to the current RSS."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# --------------------------------------------------------------------------------------------
# Transfers


def api_key(base_url: str) -> str:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        email = "blob-bench@example.com"
        body = {"email": email, "password": PASSWORD, "name": "Bench"}
        http.post("/api/v1/auth/register", json=body).raise_for_status()
        http.cookies.clear()
        login = http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        login.raise_for_status()
        created = http.post(
            "/api/v1/api-keys",
            json={"name": "bench"},
            headers={"X-CSRF-Token": login.json()["csrf_token"]},
        )
        created.raise_for_status()
        return str(created.json()["key"])


def timed(action: Callable[..., None], *args: object) -> float:
    started = time.perf_counter()
    action(*args)
    return time.perf_counter() - started


class ApiClient:
    """A plain http.client connection: httpx tops out far below the server when sending
    hundreds of MB, which would measure the client instead of Orbiter."""

    def __init__(self, base_url: str, key: str) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        self.address = (parsed.hostname or "", parsed.port)
        self.connection = http.client.HTTPConnection(*self.address, timeout=300)
        self.headers = {"X-API-Key": key}

    def reconnect(self) -> None:
        """A new connection, opened before the clock starts: the server closes connections idle
        for 5 s, and making the data and the direct transfers in between can take longer."""
        self.connection.close()
        self.connection = http.client.HTTPConnection(*self.address, timeout=300)
        self.connection.connect()

    def close(self) -> None:
        self.connection.close()


def api_upload(api: ApiClient, data: bytes, digest: str) -> None:
    headers = api.headers | {"Content-Type": "application/octet-stream"}
    api.connection.request("PUT", f"/api/v1/blobs/upload/{digest}", body=data, headers=headers)
    response = api.connection.getresponse()
    body = response.read()
    if response.status != 201:
        raise RuntimeError(f"upload failed: {response.status} {body[:300]!r}")


def api_download(api: ApiClient, digest: str, size: int) -> None:
    api.connection.request("GET", f"/api/v1/blobs/download/{digest}", headers=api.headers)
    response = api.connection.getresponse()
    if response.status != 200:
        raise RuntimeError(f"download failed: {response.status} {response.read()[:300]!r}")
    received = 0
    buffer = bytearray(CHUNK)
    while count := response.readinto(buffer):
        received += count
    if received != size:
        raise RuntimeError(f"downloaded {received} of {size} bytes")


def local_write(directory: Path, data: bytes, name: str) -> None:
    """What the local store does: chunks to a temp file, fsync, rename, fsync the directory."""
    fd, temp = tempfile.mkstemp(dir=directory, suffix=".part")
    with os.fdopen(fd, "wb") as file:
        view = memoryview(data)
        for start in range(0, len(data), CHUNK):
            file.write(view[start : start + CHUNK])
        file.flush()
        os.fsync(file.fileno())
    os.replace(temp, directory / name)
    directory_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(directory_fd)
    finally:
        os.close(directory_fd)


def local_read(directory: Path, name: str) -> None:
    with (directory / name).open("rb") as file:
        while file.read(CHUNK):
            pass


def s3_write(client, bucket: str, data: bytes, key: str) -> None:  # type: ignore[no-untyped-def]
    from boto3.s3.transfer import TransferConfig

    config = TransferConfig(
        multipart_threshold=S3_PART + 1, multipart_chunksize=S3_PART, max_concurrency=1
    )
    client.upload_fileobj(io.BytesIO(data), bucket, key, Config=config)


def s3_read(client, bucket: str, key: str) -> None:  # type: ignore[no-untyped-def]
    body = client.get_object(Bucket=bucket, Key=key)["Body"]
    while body.read(CHUNK):
        pass


@dataclass
class Row:
    size_mb: int
    api_up: float  # MB/s
    direct_up: float
    api_down: float
    direct_down: float


def measure_size(
    size_mb: int,
    repeat: int,
    http: ApiClient,
    direct_dir: Path,
    s3: S3Options | None,
    s3_client: object,
) -> Row:
    size = size_mb * MB
    api_up, api_down, direct_up, direct_down = [], [], [], []
    for round_ in range(repeat):
        data = os.urandom(size)  # fresh bytes: a repeated upload would be deduplicated
        digest = hashlib.sha256(data).hexdigest()
        http.reconnect()
        api_up.append(timed(api_upload, http, data, digest))
        http.reconnect()
        api_down.append(timed(api_download, http, digest, size))
        name = f"direct-{size_mb}-{round_}"
        if s3:
            key = f"bench/{name}"
            direct_up.append(timed(s3_write, s3_client, s3.bucket, data, key))
            direct_down.append(timed(s3_read, s3_client, s3.bucket, key))
        else:
            direct_up.append(timed(local_write, direct_dir, data, name))
            direct_down.append(timed(local_read, direct_dir, name))
            (direct_dir / name).unlink()
    rate = lambda seconds: size_mb / statistics.median(seconds)  # noqa: E731
    return Row(size_mb, rate(api_up), rate(direct_up), rate(api_down), rate(direct_down))


# --------------------------------------------------------------------------------------------


def print_report(rows: list[Row], rss_growth_mb: float, store: str, repeat: int) -> bool:
    print()
    print(f"store: {store}; median of {repeat} rounds; {os.cpu_count()} CPUs; MB/s (MiB)")
    header = (
        f"{'size':>7} {'API up':>9} {'direct up':>10} {'ratio':>6}   "
        f"{'API down':>9} {'direct down':>12} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    passed = True
    for row in rows:
        up, down = row.api_up / row.direct_up, row.api_down / row.direct_down
        passed &= up >= TARGET_RATIO and down >= TARGET_RATIO
        print(
            f"{row.size_mb:>5}MB {row.api_up:>9.1f} {row.direct_up:>10.1f} {up:>6.2f}   "
            f"{row.api_down:>9.1f} {row.direct_down:>12.1f} {down:>6.2f}"
        )
    rss_ok = rss_growth_mb < TARGET_RSS_MB
    print()
    print(f"API/direct target >= {TARGET_RATIO}: {'PASS' if passed else 'BELOW TARGET'}")
    print(
        f"server peak RSS growth: {rss_growth_mb:.1f} MB (target < {TARGET_RSS_MB} MB) "
        f"{'PASS' if rss_ok else 'ABOVE TARGET'}"
    )
    return passed and rss_ok


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,16,256", help="blob sizes in MiB, comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per size (median)")
    parser.add_argument("--moto", action="store_true", help="start a moto S3 server and use it")
    parser.add_argument("--s3-endpoint", default="", help="S3 endpoint URL (with --s3-bucket)")
    parser.add_argument("--s3-bucket", default="")
    parser.add_argument("--s3-region", default=os.environ.get("ORBITER_S3_REGION", "us-east-1"))
    args = parser.parse_args(argv)
    args.size_list = [int(s) for s in args.sizes.split(",") if s.strip()]
    if not args.size_list or min(args.size_list) < 1 or args.repeat < 1:
        parser.error("--sizes must be positive MiB values and --repeat >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_servers_on_signals()
    try:
        with contextlib.ExitStack() as stack:
            s3: S3Options | None = None
            if args.moto:
                s3 = start_moto(stack)
            elif args.s3_bucket:
                s3 = S3Options(
                    args.s3_endpoint,
                    args.s3_bucket,
                    os.environ.get("ORBITER_S3_ACCESS_KEY_ID", ""),
                    os.environ.get("ORBITER_S3_SECRET_ACCESS_KEY", ""),
                    args.s3_region,
                )
            base_url, pid, data_dir = start_orbiter(stack, s3)
            store = f"S3 at {s3.endpoint or 'AWS'} ({s3.bucket})" if s3 else f"local ({data_dir})"
            info(f"orbiter pid {pid} at {base_url}; store: {store}")
            direct_dir = data_dir / "direct"
            direct_dir.mkdir()
            key = api_key(base_url)
            http = ApiClient(base_url, key)
            stack.callback(http.close)
            # Warm up (imports, first connections), then measure peak RSS from here on.
            warm = os.urandom(MB)
            api_upload(http, warm, hashlib.sha256(warm).hexdigest())
            api_download(http, hashlib.sha256(warm).hexdigest(), MB)
            reset = reset_peak_rss(pid)
            baseline_kb = proc_status_kb(pid, "VmRSS" if reset else "VmHWM")
            rows = []
            s3_client = s3.client() if s3 else None
            for size_mb in args.size_list:
                info(f"{size_mb} MiB x {args.repeat}")
                rows.append(measure_size(size_mb, args.repeat, http, direct_dir, s3, s3_client))
            peak_kb = proc_status_kb(pid, "VmHWM")
            growth_mb = max(0, peak_kb - baseline_kb) / 1024
            if not reset:
                info("could not reset the peak RSS counter: growth is measured from start-up peak")
            info("stopping servers")
    except services.MissingDependency as exc:
        print(f"[bench] {exc}", file=sys.stderr)
        return 2
    except services.SetupError as exc:
        print(f"[bench] could not start: {exc}", file=sys.stderr)
        return 1
    except (RuntimeError, OSError, httpx.HTTPError) as exc:
        print(f"[bench] FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\n[bench] interrupted; servers stopped", file=sys.stderr)
        return 130
    return 0 if print_report(rows, growth_mb, store, args.repeat) else 1


if __name__ == "__main__":
    sys.exit(main())
