"""gunicorn settings for one app node (`gunicorn -c docker/gunicorn.conf.py wsgi:app`).

Every value can be set from the environment; the defaults suit a 2-core node. Threaded workers
(gthread): a request waiting on PostgreSQL does not block the others in its process, and the
worker heartbeat runs in the main thread, so a long upload is not killed by `timeout`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # honours a container's cpuset
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = _int_env("GUNICORN_WORKERS", min(2 * _cores() + 1, 8))
threads = _int_env("GUNICORN_THREADS", 2)

timeout = 60
graceful_timeout = 30
# nginx drops idle upstream connections after 4 s (keepalive_timeout in its upstream block),
# before gunicorn closes them at 5 s, so nginx never reuses a socket gunicorn just closed.
keepalive = 5

# Recycle workers now and then (a slow leak in a dependency cannot grow forever); the jitter
# keeps them from all restarting at the same moment.
max_requests = 2000
max_requests_jitter = 200

# The heartbeat file on tmpfs: a container's overlay /tmp can stall under disk load.
if Path("/dev/shm").is_dir():
    worker_tmp_dir = "/dev/shm"

proc_name = "lms"
# gunicorn 24+ opens a control socket under the home directory by default; a container does
# not need it (older gunicorn ignores this unknown setting).
control_socket_disable = True
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The client address nginx passed on, then the usual combined format and the time in ms.
access_log_format = (
    '%({x-forwarded-for}i)s %(h)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'
)

# Behind nginx (TRUSTED_PROXIES=1) the request comes from the proxy's address, which is not
# known in advance inside a container network: trust X-Forwarded-* from any peer. The app
# itself applies werkzeug's ProxyFix for the same setting. Never expose port 8000 directly then.
if os.environ.get("TRUSTED_PROXIES", "").strip() not in ("", "0"):
    forwarded_allow_ips = "*"

# Prometheus metrics from several worker processes (lms/ops.py): each worker writes its samples
# to files in PROMETHEUS_MULTIPROC_DIR and /metrics adds them up. The directory must be empty
# when the server starts and a dead worker's files must be marked, hence the hooks below.
# The variable is set here, in the master, before any worker imports prometheus_client.
_OWN_METRICS_DIR = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _OWN_METRICS_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(
        Path(tempfile.gettempdir()) / f"lms-prometheus-{os.getpid()}"
    )


def on_starting(server) -> None:
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):  # samples of a previous run
        stale.unlink(missing_ok=True)


def child_exit(server, worker) -> None:
    try:
        from prometheus_client import multiprocess
    except ImportError:
        return
    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    if _OWN_METRICS_DIR:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
