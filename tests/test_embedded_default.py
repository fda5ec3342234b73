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


def test_bootstrap_seeds_units_catalog_modules_and_prints_the_admin(tmp_path: Path,
                                                                     built_module_zip):
    """What `make run` does after building the modules, on the bare defaults."""
    import shutil
    import sqlite3

    packages = tmp_path / "packages"
    packages.mkdir()
    shutil.copy(built_module_zip("nd-1-2"), packages / "nd-1-2.zip")
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "CONTENT_ROOT"}}
    env["PYTHONPATH"] = str(ROOT)
    env["LMS_INSTANCE_PATH"] = str(tmp_path / "instance")
    assert _run(["db", "upgrade"], env, ROOT).returncode == 0
    first = _run(["lms", "bootstrap", "--packages", str(packages)], env, ROOT)
    assert first.returncode == 0, first.stderr
    import yaml

    from lms.units import DATA
    units = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    assert len(units["communes"]) == 114
    assert f"Units added: {114 + len(units['departments'])}\n" in first.stdout
    assert "1 packages imported" in first.stdout
    login = [ln for ln in first.stdout.splitlines() if ln.startswith("Administrator created: ")]
    assert len(login) == 1 and " / " in login[0]
    password = login[0].split(" / ", 1)[1]

    again = _run(["lms", "bootstrap", "--packages", str(packages)], env, ROOT)
    assert again.returncode == 0, again.stderr
    assert f"Administrator: admin@haiphong.local / {password}" in again.stdout
    assert "0 packages imported" in again.stdout
    db = sqlite3.connect(tmp_path / "instance" / "lms.sqlite3")
    linked = db.execute("SELECT code FROM modules WHERE package_id IS NOT NULL").fetchall()
    assert linked == [("nd-1-2",)]
    assert db.execute("SELECT count(*) FROM modules").fetchone() == (43,)
    assert db.execute("SELECT count(*) FROM users WHERE role = 'admin'").fetchone() == (1,)
