"""Smoke test of the embedded default: no DATABASE_URL, no REDIS_URL -> SQLite + in-process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT, sample


def _run(args, env, cwd):
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], env=env,
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def test_cli_on_bare_defaults(tmp_path: Path):
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "CONTENT_ROOT"}}
    env["PYTHONPATH"] = str(ROOT)
    # Run from a copy-free location: wsgi.py is importable via PYTHONPATH; instance/ lands in lms/.
    env["LMS_INSTANCE_PATH"] = str(tmp_path / "instance")
    r = _run(["db", "upgrade"], env, ROOT)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "instance" / "lms.sqlite3").exists()
    r = _run(["lms", "create-user", "--email", "qt@example.vn", "--password", "pw-12345678",
              "--name", "Quản trị", "--role", "admin"], env, ROOT)
    assert r.returncode == 0, r.stderr
    r = _run(["lms", "token", "--email", "qt@example.vn"], env, ROOT)
    assert r.returncode == 0 and r.stdout.strip().startswith("hp_"), r.stderr
    r = _run(["lms", "import-package", str(sample("RuntimeBasicCalls_SCORM12.zip"))], env, ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().isdigit()
    assert any((tmp_path / "instance" / "content").iterdir())
    r = _run(["lms", "import-package", str(sample("MalformedXml_SCORM12.zip"))], env, ROOT)
    assert r.returncode == 1
    assert "xml_malformed" in r.stderr
    assert (tmp_path / "instance" / "secret_key").exists()
