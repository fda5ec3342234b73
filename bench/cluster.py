"""A local cluster for tests and benchmarks: N gunicorn app nodes behind a real nginx, all on
127.0.0.1, rendered from docker/nginx.conf.template (the same file production uses)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "docker" / "nginx.conf.template"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def nginx_binary() -> str | None:
    if shutil.which("nginx"):
        return shutil.which("nginx")
    return "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None


@dataclass
class Cluster:
    env: dict[str, str]
    nodes: int = 2
    workers: int = 2
    app_spec: str = "wsgi:app"
    port: int = 0
    node_ports: list[int] = field(default_factory=list)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    tmp: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Cluster:
        self.tmp = Path(tempfile.mkdtemp(prefix="lms-cluster-"))
        self.node_ports = [free_port() for _ in range(self.nodes)]
        for n, port in enumerate(self.node_ports, start=1):
            env = {**os.environ, **self.env, "NODE_NAME": f"node{n}", "TRUSTED_PROXIES": "1",
                   "X_ACCEL_CONTENT": "1", "PYTHONPATH": str(ROOT)}
            self.procs[f"node{n}"] = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-w", str(self.workers), "-b",
                 f"127.0.0.1:{port}", "--log-level", "warning", self.app_spec],
                env=env, cwd=ROOT, start_new_session=True,
            )
        for port in self.node_ports:
            wait_port(port)
        self.port = free_port()
        upstreams = "\n".join(
            f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in self.node_ports
        )
        conf = Template(TEMPLATE.read_text()).safe_substitute(
            LISTEN_PORT=str(self.port), UPSTREAM_SERVERS=upstreams,
            CONTENT_ROOT=self.env["CONTENT_ROOT"], STATIC_ROOT=str(ROOT / "lms" / "static"),
            MAX_UPLOAD_MB=self.env.get("MAX_UPLOAD_MB", "1024"),
        )
        (self.tmp / "lms.conf").write_text(conf)
        # Started as root, nginx would run its workers as "nobody", who cannot read pytest's
        # private temporary folders; a local test cluster runs them as the caller instead.
        user = "user root;" if os.geteuid() == 0 else ""
        main = f"""
{user}
pid {self.tmp}/nginx.pid;
error_log {self.tmp}/error.log warn;
worker_processes 1;
events {{ worker_connections 1024; }}
http {{
  include /etc/nginx/mime.types;
  access_log off;
  client_body_temp_path {self.tmp}/body;
  proxy_temp_path {self.tmp}/proxy;
  fastcgi_temp_path {self.tmp}/fastcgi;
  uwsgi_temp_path {self.tmp}/uwsgi;
  scgi_temp_path {self.tmp}/scgi;
  include {self.tmp}/lms.conf;
}}
"""
        (self.tmp / "nginx.conf").write_text(main)
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError("nginx is not installed")
        self.procs["nginx"] = subprocess.Popen(
            [binary, "-c", str(self.tmp / "nginx.conf"), "-g", "daemon off;"], cwd=self.tmp
        )
        wait_port(self.port)
        return self

    def kill(self, name: str) -> None:
        """SIGKILL a node: its gunicorn master and workers die at once, mid-request."""
        proc = self.procs[name]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is None:
                if name.startswith("node"):
                    os.killpg(proc.pid, signal.SIGTERM)
                else:
                    proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
