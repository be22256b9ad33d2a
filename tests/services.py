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
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:  # a loaded machine can keep it exiting for long
            os.killpg(server.pid, 9)
            server.wait()
        log.close()


SLURM_DAEMONS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "srun", "sinfo", "squeue", "scancel")


def slurm_missing() -> str:
    """Why no test cluster can start here ('' when one can)."""
    absent = [name for name in SLURM_DAEMONS if shutil.which(name, path=f"{os.environ['PATH']}:/usr/sbin")
              is None]
    if absent:
        return f"Slurm/munge binaries absent ({', '.join(absent)}); run .ci/services.sh to install them"
    if os.geteuid() != 0:
        return "the test Slurm cluster runs slurmd as root (SlurmUser=root); not root here"
    return ""


def slurm_conf(folder: Path, ports: tuple[int, int], cpus: int, memory_mb: int) -> str:
    """One node, one partition, on loopback; every file under `folder` (nothing in /etc)."""
    return "\n".join([
        "ClusterName=vaetest", "SlurmctldHost=localhost(127.0.0.1)",
        f"SlurmctldPort={ports[0]}", f"SlurmdPort={ports[1]}", "SlurmUser=root", "SlurmdUser=root",
        "AuthType=auth/munge", "CredType=cred/munge", f"AuthInfo=socket={folder}/munge/munge.sock",
        f"StateSaveLocation={folder}/state", f"SlurmdSpoolDir={folder}/spool",
        f"SlurmctldPidFile={folder}/slurmctld.pid", f"SlurmdPidFile={folder}/slurmd.pid",
        f"SlurmctldLogFile={folder}/log/slurmctld.log", f"SlurmdLogFile={folder}/log/slurmd.log",
        "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none", "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core", "SchedulerType=sched/builtin", "MpiDefault=none",
        "JobAcctGatherType=jobacct_gather/none", "AccountingStorageType=accounting_storage/none",
        "ReturnToService=2", "KillWait=2", "MailProg=/bin/true",
        f"NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN",
        "PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP", ""])


@dataclass
class SlurmCluster:
    """munged + slurmctld + slurmd started by the test, stopped by their pids."""

    folder: Path
    conf: Path
    daemons: list[subprocess.Popen]
    partition: str = "debug"

    def squeue_ids(self) -> list[str]:
        done = subprocess.run(["squeue", "-h", "-o", "%A"], capture_output=True, text=True, timeout=30)
        return done.stdout.split()

    def stop(self) -> None:
        """Cancel what is left (so no slurmstepd outlives slurmd), then stop the daemons."""
        if self.squeue_ids():
            subprocess.run(["scancel", *self.squeue_ids()], capture_output=True, timeout=30)
            deadline = time.time() + 30
            while self.squeue_ids() and time.time() < deadline:
                time.sleep(0.5)
        for daemon in reversed(self.daemons):
            daemon.terminate()
            try:
                daemon.wait(timeout=20)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def _daemon(command: list[str], log: Path) -> subprocess.Popen:
    with open(log, "w") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def start_slurm_cluster(cpus: int = 2, memory_mb: int = 4000) -> SlurmCluster:
    """A munge key and slurm.conf in a fresh /tmp folder; SLURM_CONF must point at it."""
    folder = Path(tempfile.mkdtemp(prefix="vae-slurm-", dir="/tmp"))
    folder.chmod(0o755)  # munged wants its socket's folders executable by all, its key private
    for name, mode in (("key", 0o700), ("munge", 0o755), ("state", 0o755), ("spool", 0o755), ("log", 0o755)):
        (folder / name).mkdir(mode=mode)
    conf = folder / "slurm.conf"
    conf.write_text(slurm_conf(folder, (free_port(), free_port()), cpus, memory_mb))
    subprocess.run(["mungekey", "--create", "--keyfile", str(folder / "key/munge.key")], check=True,
                   capture_output=True)
    log = folder / "log"
    cluster = SlurmCluster(folder, conf, [])
    cluster.daemons.append(_daemon(
        ["munged", "--foreground", f"--key-file={folder}/key/munge.key",
         f"--socket={folder}/munge/munge.sock", f"--pid-file={folder}/munge/munged.pid",
         f"--seed-file={folder}/key/munged.seed", f"--log-file={log}/munged.log"], log / "munged.out"))
    while not (folder / "munge/munge.sock").exists():
        if cluster.daemons[0].poll() is not None:
            raise RuntimeError("munged did not start: " + (log / "munged.out").read_text()[-2000:])
        time.sleep(0.1)
    cluster.daemons.append(_daemon(["slurmctld", "-D", "-i", "-f", str(conf)], log / "slurmctld.out"))
    cluster.daemons.append(_daemon(["slurmd", "-D", "-N", "localhost", "-f", str(conf)], log / "slurmd.out"))
    return cluster


def wait_node_idle(cluster: SlurmCluster, timeout_s: float = 60) -> None:
    deadline = time.time() + timeout_s
    state = ""
    while time.time() < deadline:
        done = subprocess.run(["sinfo", "-h", "-n", "localhost", "-o", "%t"], capture_output=True, text=True,
                              timeout=30)
        state = done.stdout.strip()
        if state == "idle":
            return
        if any(daemon.poll() is not None for daemon in cluster.daemons):
            break
        time.sleep(0.5)
    logs = "\n".join(p.read_text()[-1500:] for p in sorted((cluster.folder / "log").glob("*.out")))
    raise RuntimeError(f"the Slurm node never became idle (sinfo: {state!r}):\n{logs}")


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[SlurmCluster]:
    """A single-node Slurm cluster on localhost; SLURM_CONF set for this process and its children."""
    reason = slurm_missing()
    if reason:
        pytest.skip(reason)
    before = os.environ.get("SLURM_CONF")
    path_before = os.environ["PATH"]
    os.environ["PATH"] = f"{path_before}:/usr/sbin"  # the daemons live in sbin
    cluster = start_slurm_cluster()
    os.environ["SLURM_CONF"] = str(cluster.conf)
    try:
        wait_node_idle(cluster)
        yield cluster
    finally:
        cluster.stop()
        os.environ["PATH"] = path_before
        if before is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = before
