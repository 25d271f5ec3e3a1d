"""A one-node SLURM cluster on this machine, for tests.

Debian's packages (installed with apt-get where missing), the daemons started as plain
processes (no systemd), their state, logs and munge key in a scratch folder:

    reason = why_unavailable()      # None, or why this machine cannot host one
    install()
    cluster = start(tmp_path)       # returns once the node is idle
    ...                             # sbatch, or snakemake --executor slurm
    cluster.stop()                  # every daemon, by its PID
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = ("slurmctld", "slurmd", "munge", "slurm-client")
COMMANDS = ("slurmctld", "slurmd", "munged", "sbatch", "srun", "squeue", "sinfo", "scontrol")
# Where every SLURM command looks by default. A job step cannot be pointed elsewhere: the
# executor plugin's job step drops SLURM_CONF before it calls srun inside the job.
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
MARK = "# One-node test cluster of devfer's tests/slurm_cluster.py; removed when it stops."
PARTITION = "devfer"


def _which(name: str) -> str | None:
    # The daemons live in /usr/sbin, which a non-login PATH may lack.
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")


def missing_commands() -> list[str]:
    return [c for c in COMMANDS if _which(c) is None]


def why_unavailable() -> str | None:
    """Why this machine cannot host the test cluster, or None."""
    if os.geteuid() != 0:
        return "starting slurmctld, slurmd and munged (and installing them) needs root"
    if missing_commands() and shutil.which("apt-get") is None:
        return f"SLURM is not installed ({', '.join(missing_commands())}) and apt-get is missing"
    if SYSTEM_CONF.exists() and MARK not in SYSTEM_CONF.read_text():
        return f"{SYSTEM_CONF} belongs to a SLURM set up on this machine; not overwriting it"
    return None


def install() -> None:
    """apt-get install the daemons and client commands, where any is missing (about 10 s)."""
    if not missing_commands():
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES]
    if subprocess.run(command, env=env, capture_output=True).returncode != 0:
        # A fresh machine has no package lists yet.
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, check=True)
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"apt-get install {' '.join(PACKAGES)} failed:\n{done.stderr}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_hardware() -> dict[str, str]:
    """This machine as slurmd sees it (CPUs, sockets, cores, threads, RealMemory)."""
    out = subprocess.run([_which("slurmd"), "-C"], capture_output=True, text=True, check=True)
    line = out.stdout.splitlines()[0]
    fields = dict(item.split("=", 1) for item in line.split())
    fields.pop("NodeName", None)
    return fields


def slurm_conf(root: Path, node: str, hardware: dict[str, str], ports: tuple[int, int]) -> str:
    hw = " ".join(f"{k}={v}" for k, v in hardware.items())
    return f"""{MARK}
ClusterName=devfertest
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={ports[0]}
SlurmdPort={ports[1]}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={root}/munge/munge.socket
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
ReturnToService=2
MinJobAge=300
MailProg=/bin/true
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
NodeName={node} NodeAddr=127.0.0.1 {hw} State=UNKNOWN
PartitionName={PARTITION} Nodes={node} Default=YES MaxTime=INFINITE State=UP
"""


@dataclass
class Cluster:
    root: Path
    node: str
    cpus: int
    memory_mb: int
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    outputs: list = field(default_factory=list)

    def run(self, *command: str) -> str:
        """A SLURM client command's output (scontrol, squeue, sinfo, ...)."""
        done = subprocess.run(list(command), capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stderr}")
        return done.stdout

    def log_tail(self, lines: int = 30) -> str:
        texts = []
        for path in sorted((self.root / "log").glob("*")):
            texts.append(f"== {path.name}\n" + "\n".join(path.read_text().splitlines()[-lines:]))
        return "\n".join(texts)

    def _start(self, name: str, *command: str) -> None:
        out = open(self.root / "log" / f"{name}.out", "w")  # noqa: SIM115 (closed in stop)
        self.outputs.append(out)
        self.processes[name] = subprocess.Popen(
            [_which(command[0]), *command[1:]], stdout=out, stderr=subprocess.STDOUT
        )

    def _wait(self, what: str, ready, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited ({process.returncode}):\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} not ready after {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.5)

    def _node_state(self) -> str:
        done = subprocess.run(
            ["sinfo", "-h", "-N", "-p", PARTITION, "-o", "%T"], capture_output=True, text=True
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    def stop(self) -> None:
        """Cancel what is still queued, then stop slurmd, slurmctld and munged by PID."""
        if self.processes.get("slurmctld") and self.processes["slurmctld"].poll() is None:
            subprocess.run(["scancel", "--partition", PARTITION], capture_output=True, timeout=30)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                done = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True)
                if done.returncode != 0 or not done.stdout.strip():
                    break
                time.sleep(0.5)
        for name in ("slurmd", "slurmctld", "munged"):
            process = self.processes.pop(name, None)
            if process is None or process.poll() is not None:
                continue
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        for out in self.outputs:
            out.close()
        if SYSTEM_CONF.exists() and MARK in SYSTEM_CONF.read_text():
            SYSTEM_CONF.unlink()


def start(root: Path) -> Cluster:
    """munged, slurmctld and slurmd for one node with this machine's CPUs and memory and one
    default partition; returns once the node is idle. Stops what it started if it fails."""
    root = Path(root)
    for sub in ("munge", "state", "spool", "log"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "munge").chmod(0o700)
    key = root / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)

    node = socket.gethostname().split(".")[0]
    hardware = node_hardware()
    conf = slurm_conf(root, node, hardware, (_free_port(), _free_port()))
    SYSTEM_CONF.parent.mkdir(parents=True, exist_ok=True)
    SYSTEM_CONF.write_text(conf)
    cluster = Cluster(root, node, int(hardware["CPUs"]), int(hardware["RealMemory"]))
    try:
        munge = root / "munge"
        cluster._start(
            "munged", "munged", "--foreground", "--force", f"--key-file={key}",
            f"--socket={munge}/munge.socket", f"--pid-file={munge}/munged.pid",
            f"--seed-file={munge}/munged.seed", f"--log-file={root}/log/munged.log",
        )  # fmt: skip
        cluster._wait("munged", (munge / "munge.socket").exists, timeout=20)
        cluster._start("slurmctld", "slurmctld", "-D", "-f", str(SYSTEM_CONF))
        cluster._start("slurmd", "slurmd", "-D", "-f", str(SYSTEM_CONF), "-N", node)
        cluster._wait("the node", lambda: cluster._node_state() == "idle")
    except BaseException:
        cluster.stop()
        raise
    return cluster
