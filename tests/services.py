"""Real services on loopback for the scale-out tests: PostgreSQL (initdb into a temporary
folder, run as the `postgres` user when we are root) and an `mlflow server` backed by it that
serves artifacts. Tests skip only when the PostgreSQL binaries are absent (.ci/services.sh
installs them)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_bin() -> Path | None:
    found = shutil.which("initdb") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))), None)
    return Path(found).resolve().parent if found else None


@dataclass
class Postgres:
    port: int
    folder: Path
    pg_ctl: list[str]

    def stop(self) -> None:
        subprocess.run([*self.pg_ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str) -> str:
        # psycopg2 named explicitly: MLflow otherwise picks psycopg 3, which is not installed.
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg2

        connection = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        connection.close()
        return self.url(name)


def start_postgres(binaries: Path) -> Postgres:
    """initdb + pg_ctl start in a fresh /tmp folder, on 127.0.0.1 and a free port."""
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    folder = Path(tempfile.mkdtemp(prefix="vae-pg-", dir="/tmp"))
    if as_user:
        shutil.chown(folder, "postgres", "postgres")
    port = free_port()
    data = folder / "data"
    subprocess.run([*as_user, str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                    "--no-sync"], check=True, capture_output=True)
    options = (f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
               f"-c synchronous_commit=off -c max_connections=200")
    subprocess.run([*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                    str(folder / "postgres.log"), "-w", "-t", "60", "start"], check=True, capture_output=True)
    return Postgres(port, folder, [*as_user, str(binaries / "pg_ctl"), "-D", str(data)])


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    binaries = postgres_bin()
    if binaries is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are absent; run .ci/services.sh to install them")
    server = start_postgres(binaries)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def mlflow_server(postgres: Postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`mlflow server` on PostgreSQL with --serve-artifacts; yields its http:// URI."""
    backend = postgres.create_database("mlflow")
    artifacts = tmp_path_factory.mktemp("mlartifacts")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    log = open(artifacts.parent / "mlflow-server.log", "w")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend, "--serve-artifacts",
         "--artifacts-destination", str(artifacts), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "2"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while True:
        try:
            urllib.request.urlopen(f"{uri}/health", timeout=2)
            break
        except OSError:
            if server.poll() is not None or time.time() > deadline:
                log.close()
                raise RuntimeError("mlflow server did not start: "
                                   + (artifacts.parent / "mlflow-server.log").read_text()[-2000:]) from None
            time.sleep(1)
    try:
        yield uri
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
        log.close()
