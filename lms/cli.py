"""`flask --app wsgi lms …` commands (also available as the `lms` console script)."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from .extensions import db
from .models import ApiToken, User
from .scorm.errors import PackageInvalid
from .security import hash_password, new_api_token

lms = AppGroup("lms", help="Hai Phong LMS administration.")


def create_user(email: str, password: str, name: str, role: str = "learner") -> User:
    email = email.strip().lower()
    if db.session.scalar(select(User).where(User.email == email)):
        raise click.ClickException(f"A user with email {email} already exists.")
    user = User(email=email, name=name, password_hash=hash_password(password), role=role)
    db.session.add(user)
    db.session.commit()
    return user


@lms.command("create-user")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["admin", "learner"]), default="learner")
def create_user_cmd(email: str, password: str, name: str, role: str) -> None:
    user = create_user(email, password, name, role)
    click.echo(f"Created {user.role} {user.email} (id {user.id})")


@lms.command("token")
@click.option("--email", required=True)
def token_cmd(email: str) -> None:
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"No user with email {email}.")
    token, digest = new_api_token()
    db.session.add(ApiToken(user_id=user.id, token_hash=digest))
    db.session.commit()
    click.echo(token)


@lms.command("import-package")
@click.argument("zip_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--package-id", type=int, default=None,
              help="Import as a new version of this package.")
def import_package_cmd(zip_path: Path, package_id: int | None) -> None:
    from .importer import import_package

    try:
        result = import_package(zip_path, package_id=package_id)
    except PackageInvalid as exc:
        for err in exc.errors:
            click.echo(f"error [{err.code}] {err.message}", err=True)
        sys.exit(1)
    click.echo(result.version.package_id)


@lms.command("seed-units")
def seed_units_cmd() -> None:
    """Load the city's 114 communes/wards/special zones and the named departments."""
    from .units import seed_units

    click.echo(f"Units added: {seed_units()}")


@lms.command("seed-catalog")
@click.option("--packages", "packages_dir", type=click.Path(path_type=Path), default=None,
              help="Folder of built module zips (default: scorm_packages/).")
@click.option("--update", is_flag=True,
              help="Overwrite existing programmes, topics and modules with courses/ "
                   "(by default only what is missing is added, keeping admins' edits).")
def seed_catalog_cmd(packages_dir: Path | None, update: bool) -> None:
    """Load the framework, programmes, topics and modules; import the built module zips."""
    _seed_catalog(packages_dir, update)


def _seed_catalog(packages_dir: Path | None, update: bool = False) -> None:
    from .catalog import PACKAGES_DIR, CatalogError, seed_catalog

    try:
        report = seed_catalog(packages_dir=packages_dir or PACKAGES_DIR, progress=click.echo,
                              update=update)
    except CatalogError as exc:
        click.echo(f"Danh mục khoá học có lỗi:\n{exc}", err=True)
        sys.exit(1)
    except PackageInvalid as exc:
        for err in exc.errors:
            click.echo(f"error [{err.code}] {err.message}", err=True)
        sys.exit(1)
    click.echo(
        f"Catalog: {report.programmes} programmes, {report.topics} topics, "
        f"{report.modules} modules added; {report.packages_imported} packages imported"
    )
    if report.missing_packages:
        click.echo(
            f"Not built yet ({len(report.missing_packages)}): {', '.join(report.missing_packages)}"
            " — run `python -m lms.coursebuild build`"
        )


@lms.command("load-framework")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load_framework_cmd(path: Path) -> None:
    """Load a competency framework version from a YAML file (see lms/data/frameworks/)."""
    from .catalog import CatalogError, load_framework_version

    try:
        fw = load_framework_version(path)
        db.session.commit()
    except CatalogError as exc:
        db.session.rollback()
        click.echo(f"Khung năng lực có lỗi:\n{exc}", err=True)
        sys.exit(1)
    click.echo(f"Framework {fw.code} {fw.version}: {len(fw.competencies)} competencies")


@lms.command("bootstrap")
@click.option("--admin-email", default="admin@haiphong.local", show_default=True)
@click.option("--no-catalog", is_flag=True, help="Seed only the units and the administrator.")
@click.option("--packages", "packages_dir", type=click.Path(path_type=Path), default=None,
              help="Folder of built module zips (default: scorm_packages/).")
def bootstrap_cmd(admin_email: str, no_catalog: bool, packages_dir: Path | None) -> None:
    """Seed the units and the catalog (with the built modules), create the first administrator
    if there is none and print its login."""
    from .units import seed_units

    added = seed_units()
    if added:
        click.echo(f"Units added: {added}")
    if not no_catalog:
        _seed_catalog(packages_dir)
    _first_admin(admin_email)


def _first_admin(admin_email: str) -> None:
    """Create the first administrator, or print its login again on later starts as long as its
    first password (kept 0600 in the instance folder) has not been changed."""
    from flask import current_app

    from .security import verify_password

    saved = Path(current_app.instance_path) / "first-admin.txt"
    admin = db.session.scalar(select(User).where(User.role == "admin").order_by(User.id))
    if admin is not None:
        first = saved.read_text(encoding="utf-8").split("\n", 1)[0] if saved.exists() else ""
        email, _, password = first.partition(" ")
        if email == admin.email and password and verify_password(admin.password_hash, password):
            click.echo(f"Administrator: {admin.email} / {password}")
        else:
            click.echo(f"Administrator: {admin.email} (password changed since the first start)")
        return
    password = secrets.token_urlsafe(12)
    create_user(admin_email, password, "Quản trị viên", "admin")
    saved.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(saved, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(f"{admin_email} {password}\n")
    click.echo(f"Administrator created: {admin_email} / {password}")


@lms.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def worker_cmd(burst: bool) -> None:
    """Run an RQ worker on the queues, highest priority first."""
    from flask import current_app

    from .jobs import QUEUES, run_worker

    click.echo(f"Worker on queues: {', '.join(QUEUES)}")
    run_worker(current_app._get_current_object(), burst=burst)


@lms.command("send-reminders")
@click.option("--days", type=int, default=None,
              help="Remind of items due within this many days (default: REMINDER_DAYS, 7).")
@click.option("--date", "day", default=None, help="Run as if today were YYYY-MM-DD.")
def send_reminders_cmd(days: int | None, day: str | None) -> None:
    """Email learners whose mandated items are due soon or overdue, and unit managers a digest
    of their overdue people (at most once per person and day; safe to run again)."""
    from .jobs import send_reminders

    result = send_reminders(day, days)
    click.echo(f"Reminders sent: {result['learners']} learners, {result['digests']} manager "
               f"digests; already sent today: {result['already_sent']}; "
               f"without email: {result['no_email']}")


@lms.command("purge-guests")
@click.option("--days", type=int, default=30, show_default=True,
              help="Remove guests created before this many days with no progress since.")
def purge_guests_cmd(days: int) -> None:
    """Delete "Học ngay" guests nobody adopted (no account registered or logged in)."""
    from .guest import purge_guests

    click.echo(f"Guests removed: {purge_guests(days)}")


@lms.command("gen-demo")
@click.option("--learners", type=click.IntRange(min=1), required=True,
              help="How many synthetic learners to add.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--interaction-sample", type=click.FloatRange(0, 1), default=0.05,
              show_default=True, help="Share of scored quizzes that get interactions.")
def gen_demo_cmd(learners: int, seed: int, interaction_sample: float) -> None:
    """Fill the database with a synthetic city (units, catalog, learners, tracking)."""
    from .demo import generate, plan

    click.echo(f"Plan: {plan(learners)}")
    report = generate(learners, seed=seed, interaction_sample=interaction_sample,
                      progress=click.echo)
    rows = ", ".join(f"{k} {v}" for k, v in report.counts.items())
    click.echo(f"Demo data: {rows}; units added {report.units_added}, "
               f"packages added {report.packages_added}; {report.seconds:.1f} s")


@lms.command("purge-exports")
def purge_exports_cmd() -> None:
    """Remove report export files (and their jobs) whose retention time has passed."""
    from .reports.exports import purge_expired

    click.echo(f"Expired exports removed: {purge_expired()}")


@lms.command("refresh-dashboards")
def refresh_dashboards_cmd() -> None:
    """Rebuild the dashboard and SCORM-report summaries now (one transaction)."""
    from .reports.dashboard import refresh

    run = refresh()
    click.echo(f"Dashboards refreshed in {run.seconds:.1f} s ({run.learner_rows} learner rows)")


def register_cli(app: Flask) -> None:
    app.cli.add_command(lms)


def main() -> None:
    """Console script: `lms <command>` is `flask --app wsgi lms <command>`."""
    from flask.cli import FlaskGroup

    from . import create_app

    group = FlaskGroup(create_app=lambda: create_app())
    sys.argv = [sys.argv[0], "lms", *sys.argv[1:]]
    group.main()
