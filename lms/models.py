"""All database models. Tracking keeps one row per (attempt, SCO) with the CMI state as JSON."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db

JsonType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    # Citizens sign up with a phone number or an email; at least one is always set.
    email: Mapped[str | None] = mapped_column(String(254), unique=True, index=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default="learner")  # learner|unit_manager|admin
    birth_year: Mapped[int | None] = mapped_column(Integer)
    # Civil servants (and unit managers) belong to a unit; citizens say where they live.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    job_title: Mapped[str | None] = mapped_column(String(200))
    residence_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class ApiToken(db.Model):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user: Mapped[User] = relationship()


class Package(db.Model):
    """A module as admins see it; its content lives in immutable versions."""

    __tablename__ = "packages"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("package_versions.id", use_alter=True, name="fk_packages_current_version"),
    )
    # {"mode": "none" | "all_launched_and_exited" | "minutes", "minutes": N}
    completion_fallback: Mapped[dict] = mapped_column(JsonType, default=lambda: {"mode": "none"})
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    current_version: Mapped[PackageVersion | None] = relationship(
        foreign_keys=[current_version_id], post_update=True
    )


class PackageVersion(db.Model):
    __tablename__ = "package_versions"
    __table_args__ = (UniqueConstraint("package_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(
        ForeignKey("packages.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    scorm_version: Mapped[str] = mapped_column(String(10))  # "1.2" | "2004"
    edition: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(500))
    manifest: Mapped[dict] = mapped_column(JsonType)
    sequencing: Mapped[dict] = mapped_column(JsonType)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    file_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    package: Mapped[Package] = relationship(foreign_keys=[package_id])


class Registration(db.Model):
    """A learner's enrolment in a package, with the package-level rollup for fast reporting."""

    __tablename__ = "registrations"
    __table_args__ = (UniqueConstraint("user_id", "package_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    package_id: Mapped[int] = mapped_column(
        ForeignKey("packages.id", ondelete="CASCADE"), index=True
    )
    package_version_id: Mapped[int] = mapped_column(ForeignKey("package_versions.id"))
    completion_status: Mapped[str] = mapped_column(String(20), default="not attempted")
    success_status: Mapped[str] = mapped_column(String(20), default="unknown")
    score_scaled: Mapped[float | None] = mapped_column(Float)
    total_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    decided_by: Mapped[str] = mapped_column(String(10), default="content")
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user: Mapped[User] = relationship()
    package: Mapped[Package] = relationship()
    version: Mapped[PackageVersion] = relationship()


class Attempt(db.Model):
    __tablename__ = "attempts"
    __table_args__ = (UniqueConstraint("registration_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    # Incremented at every launch; commits carry it so sequence numbers stay monotonic.
    session_count: Mapped[int] = mapped_column(Integer, default=0)
    sequencing_state: Mapped[str | None] = mapped_column(Text)
    sequencing_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    current_item: Mapped[str | None] = mapped_column(String(255))
    ended: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    registration: Mapped[Registration] = relationship()


class ScoState(db.Model):
    __tablename__ = "sco_states"
    __table_args__ = (UniqueConstraint("attempt_id", "item_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String(255))
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    cmi: Mapped[dict] = mapped_column(JsonType, default=dict)
    completion_status: Mapped[str] = mapped_column(String(20), default="not attempted")
    success_status: Mapped[str] = mapped_column(String(20), default="unknown")
    score_scaled: Mapped[float | None] = mapped_column(Float)
    score_raw: Mapped[float | None] = mapped_column(Float)
    # Total time before the session that is running now, and that session's number.
    base_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    base_session: Mapped[int] = mapped_column(Integer, default=0)
    total_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    exit: Mapped[str] = mapped_column(String(20), default="")
    entry: Mapped[str] = mapped_column(String(20), default="ab-initio")
    launched: Mapped[bool] = mapped_column(Boolean, default=False)
    exited: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Interaction(db.Model):
    __tablename__ = "interactions"
    __table_args__ = (UniqueConstraint("sco_state_id", "idx"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    sco_state_id: Mapped[int] = mapped_column(ForeignKey("sco_states.id", ondelete="CASCADE"))
    idx: Mapped[int] = mapped_column(Integer)
    interaction_id: Mapped[str] = mapped_column(String(4000))
    type: Mapped[str | None] = mapped_column(String(30))
    learner_response: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(String(30))
    correct_responses: Mapped[list] = mapped_column(JsonType, default=list)
    weighting: Mapped[str | None] = mapped_column(String(30))
    latency: Mapped[str | None] = mapped_column(String(40))
    timestamp: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(Text)


class Objective(db.Model):
    __tablename__ = "objectives"
    __table_args__ = (UniqueConstraint("sco_state_id", "idx"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    sco_state_id: Mapped[int] = mapped_column(ForeignKey("sco_states.id", ondelete="CASCADE"))
    idx: Mapped[int] = mapped_column(Integer)
    objective_id: Mapped[str] = mapped_column(String(4000))
    success_status: Mapped[str | None] = mapped_column(String(20))
    completion_status: Mapped[str | None] = mapped_column(String(20))
    score_scaled: Mapped[float | None] = mapped_column(Float)
    score_raw: Mapped[float | None] = mapped_column(Float)
    progress_measure: Mapped[float | None] = mapped_column(Float)


class LearnerGlobal(db.Model):
    """Global objectives and adl.data shared data that outlive a package attempt.

    scope is "system" when the manifest makes them global to the system, otherwise
    "attempt:<id>" (the package attempt they belong to).
    """

    __tablename__ = "learner_globals"
    __table_args__ = (UniqueConstraint("user_id", "kind", "scope", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # "objective" | "shared_data"
    scope: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(1000))
    value: Mapped[dict] = mapped_column(JsonType)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Unit(db.Model):
    """A commune/ward/special zone or a city department. Units are never deleted: a retired or
    merged unit keeps its rows, so past enrolments and reports still name it."""

    __tablename__ = "units"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # xa | phuong | dac_khu | so_ban_nganh
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def active(self) -> bool:
        return self.retired_at is None


class AuditLog(db.Model):
    """Who did what to which object, when, with the values before and after."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(60))
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict | None] = mapped_column(JsonType)
    after: Mapped[dict | None] = mapped_column(JsonType)
    ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
