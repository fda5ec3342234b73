"""All database models. Tracking keeps one row per (attempt, SCO) with the CMI state as JSON."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
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


# --- Catalog: the digital-skills framework, programmes (citizens, Lớp 1–4), topics, modules ---


class FrameworkVersion(db.Model):
    """One loaded version of a competency framework (TT 02/2025 now, the QĐ 757 annex later)."""

    __tablename__ = "framework_versions"
    __table_args__ = (UniqueConstraint("code", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    version: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    basis: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JsonType, default=dict)  # levels, target groups
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    competencies: Mapped[list[FrameworkCompetency]] = relationship(
        back_populates="framework", order_by="FrameworkCompetency.position"
    )


class FrameworkCompetency(db.Model):
    __tablename__ = "framework_competencies"
    __table_args__ = (UniqueConstraint("framework_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(
        ForeignKey("framework_versions.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(300))
    domain_code: Mapped[str] = mapped_column(String(20))
    domain_name: Mapped[str] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(Integer, default=0)
    framework: Mapped[FrameworkVersion] = relationship(back_populates="competencies")


class Programme(db.Model):
    """A programme or a class (Lớp): what a learner enrols in and is assigned to."""

    __tablename__ = "programmes"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="class")  # programme | class
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    audience: Mapped[list] = mapped_column(JsonType, default=list)  # framework target groups
    open: Mapped[bool] = mapped_column(Boolean, default=False)  # self-enrolment and guests
    target_rate: Mapped[int] = mapped_column(Integer, default=80)  # percent, for dashboards
    # {"mode": "all"} or {"mode": "count", "count": N}: required modules for completion
    completion_rule: Mapped[dict] = mapped_column(JsonType, default=lambda: {"mode": "all"})
    # a certificate is issued when the programme is complete
    certificate: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    position: Mapped[int] = mapped_column(Integer, default=0)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    topics: Mapped[list[Topic]] = relationship(
        back_populates="programme", order_by="Topic.position"
    )


class Topic(db.Model):
    """A chuyên đề of a class, or a theme of the citizens' programme."""

    __tablename__ = "topics"
    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    programme: Mapped[Programme] = relationship(back_populates="topics")
    modules: Mapped[list[Module]] = relationship(
        back_populates="topic", order_by="Module.position"
    )


class Module(db.Model):
    """A lesson in a topic, delivered by a SCORM package."""

    __tablename__ = "modules"
    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    objectives: Mapped[list] = mapped_column(JsonType, default=list)
    audience: Mapped[list] = mapped_column(JsonType, default=list)
    minutes: Mapped[int | None] = mapped_column(Integer)
    package_id: Mapped[int | None] = mapped_column(
        ForeignKey("packages.id", name="fk_modules_package"), index=True
    )
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    # what counts as done: "passed" (the quiz) or "completed"
    done_when: Mapped[str] = mapped_column(String(20), default="passed")
    position: Mapped[int] = mapped_column(Integer, default=0)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    topic: Mapped[Topic] = relationship(back_populates="modules")
    package: Mapped[Package | None] = relationship()
    competencies: Mapped[list[ModuleCompetency]] = relationship(
        cascade="all, delete-orphan", back_populates="module"
    )


class ModuleCompetency(db.Model):
    __tablename__ = "module_competencies"
    module_id: Mapped[int] = mapped_column(
        ForeignKey("modules.id", ondelete="CASCADE"), primary_key=True
    )
    competency_id: Mapped[int] = mapped_column(
        ForeignKey("framework_competencies.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[int] = mapped_column(Integer, default=1)
    module: Mapped[Module] = relationship(back_populates="competencies")
    competency: Mapped[FrameworkCompetency] = relationship()


class Enrollment(db.Model):
    __tablename__ = "enrollments"
    __table_args__ = (UniqueConstraint("user_id", "programme_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    source: Mapped[str] = mapped_column(String(20), default="self")  # self | assignment | admin
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    programme: Mapped[Programme] = relationship()


class Assignment(db.Model):
    """Mandated training: a programme, topic or module that an audience must finish by a date.

    Who is assigned is computed from `AssignmentAudience` rows at read time, so a person who
    joins an assigned unit later inherits the assignment with no extra write.
    """

    __tablename__ = "assignments"
    id: Mapped[int] = mapped_column(primary_key=True)
    target_type: Mapped[str] = mapped_column(String(20))  # programme | topic | module
    target_id: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    # the unit a unit manager assigned within (None for a city-wide assignment by an admin)
    owner_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    audiences: Mapped[list[AssignmentAudience]] = relationship(
        cascade="all, delete-orphan", back_populates="assignment"
    )


class AssignmentAudience(db.Model):
    """One audience line: a unit, a job title (optionally within a unit) or one person."""

    __tablename__ = "assignment_audiences"
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("assignments.id", ondelete="CASCADE"), index=True
    )
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    job_title: Mapped[str | None] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    assignment: Mapped[Assignment] = relationship(back_populates="audiences")


class Certificate(db.Model):
    """A skill certificate. What is printed is stored as issued (a snapshot), so a later rename of
    the learner, unit or programme never changes a certificate that was handed out."""

    __tablename__ = "certificates"
    __table_args__ = (UniqueConstraint("user_id", "programme_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(40), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("framework_versions.id"))
    learner_name: Mapped[str] = mapped_column(String(200))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    unit_name: Mapped[str | None] = mapped_column(String(200))
    programme_title: Mapped[str] = mapped_column(String(300))
    target_group: Mapped[str] = mapped_column(String(300))
    competencies: Mapped[list] = mapped_column(JsonType, default=list)  # as printed
    issuer: Mapped[str] = mapped_column(String(300))
    completed_on: Mapped[date] = mapped_column(Date)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    credential: Mapped[dict | None] = mapped_column(JsonType)  # signed Verifiable Credential
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    # the signed PDF exactly as issued (loaded only when downloaded)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    programme: Mapped[Programme] = relationship()


class ReminderSent(db.Model):
    """One reminder email sent (kind "learner" or "digest") to one person on one day (Hai Phong
    calendar): the reminder job skips what is already here, so a re-run the same day sends
    nothing twice."""

    __tablename__ = "reminders_sent"
    __table_args__ = (UniqueConstraint("kind", "user_id", "day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # learner | digest
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    # what the message listed: [{"target": "programme:3", "due_date": "2025-06-30"}, …]
    items: Mapped[list] = mapped_column(JsonType, default=list)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ExportJob(db.Model):
    """A report export (e.g. a completion roster) run as a background job (lms/reports).

    Only the requester or an admin may see it or fetch its file; the file is kept until
    `expires_at` and then removed (with the row) by the cleanup.
    """

    __tablename__ = "export_jobs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # uuid4 hex
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="roster")
    fmt: Mapped[str] = mapped_column(String(10))  # csv | xlsx
    params: Mapped[dict] = mapped_column(JsonType, default=dict)  # the filters, as submitted
    # the unit the requester was limited to when asking (unit managers); None: whole city
    scope_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    # queued | running | finished | failed
    status: Mapped[str] = mapped_column(String(20), default="queued")
    rows_done: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_total: Mapped[int | None] = mapped_column(BigInteger)
    filename: Mapped[str | None] = mapped_column(String(200))  # offered to the browser
    path: Mapped[str | None] = mapped_column(String(500))  # where the finished file lives
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)


# --- Dashboard summaries (lms/reports/dashboard.py rebuilds them in one transaction) ----------


class DashLearnerProgress(db.Model):
    """One row per learner and programme they are enrolled in or assigned to: the programme
    rollup of `lms.progress` computed set-based, so dashboards never scan the tracking tables."""

    __tablename__ = "dash_learner_progress"
    __table_args__ = (
        # "who still has to finish", a page at a time in display order, and its count
        Index("ix_dash_lp_todo", "unit_id", "due_date", "name", "user_id",
              postgresql_where=text("assigned AND completed_at IS NULL"),
              sqlite_where=text("assigned AND completed_at IS NULL")),
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    programme_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")  # the learner's, for sorting
    unit_id: Mapped[int | None] = mapped_column(Integer)  # the unit, else the residence unit
    staff: Mapped[bool] = mapped_column(Boolean, default=False)  # has a unit (civil servant)
    enrolled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    assigned: Mapped[bool] = mapped_column(Boolean, default=False)
    due_date: Mapped[date | None] = mapped_column(Date)
    done: Mapped[int] = mapped_column(Integer, default=0)
    needed: Mapped[int] = mapped_column(Integer, default=0)
    started: Mapped[bool] = mapped_column(Boolean, default=False)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DashUnitProgramme(db.Model):
    """Per unit (NULL: no unit) and programme: learners, completions, mandated and done."""

    __tablename__ = "dash_unit_programme"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int | None] = mapped_column(Integer, index=True)
    programme_id: Mapped[int] = mapped_column(Integer, index=True)
    learners: Mapped[int] = mapped_column(Integer, default=0)  # enrolled
    started: Mapped[int] = mapped_column(Integer, default=0)
    completed: Mapped[int] = mapped_column(Integer, default=0)
    assigned: Mapped[int] = mapped_column(Integer, default=0)  # staff of the unit assigned
    assigned_done: Mapped[int] = mapped_column(Integer, default=0)


class DashMonthly(db.Model):
    """Per programme, unit and month (Vietnam time, "YYYY-MM"): new learners and completions."""

    __tablename__ = "dash_monthly"
    __table_args__ = (Index("ix_dash_monthly_prog_unit", "programme_id", "unit_id", "month"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int | None] = mapped_column(Integer)
    month: Mapped[str] = mapped_column(String(7))
    enrolled: Mapped[int] = mapped_column(Integer, default=0)
    completed: Mapped[int] = mapped_column(Integer, default=0)


class DashCommune(db.Model):
    """Citizens (no unit) per residence commune: registered, learning, completed a programme."""

    __tablename__ = "dash_commune"
    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizens: Mapped[int] = mapped_column(Integer, default=0)
    learners: Mapped[int] = mapped_column(Integer, default=0)
    completed: Mapped[int] = mapped_column(Integer, default=0)


class DashModuleStats(db.Model):
    """Per module package and learner unit: the SCORM report's totals and score histogram."""

    __tablename__ = "dash_module_stats"
    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(Integer, index=True)
    unit_id: Mapped[int | None] = mapped_column(Integer)
    registered: Mapped[int] = mapped_column(Integer, default=0)
    started: Mapped[int] = mapped_column(Integer, default=0)
    completed: Mapped[int] = mapped_column(Integer, default=0)
    passed: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)  # sum over started learners
    buckets: Mapped[list] = mapped_column(JsonType, default=list)  # 10 counts: 0–9%, …, 90–100%


class DashQuestionStats(db.Model):
    """Per module package, learner unit and question: each learner's last answer, counted."""

    __tablename__ = "dash_question_stats"
    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(Integer, index=True)
    unit_id: Mapped[int | None] = mapped_column(Integer)
    interaction_id: Mapped[str] = mapped_column(String(4000))
    description: Mapped[str | None] = mapped_column(Text)
    answered: Mapped[int] = mapped_column(Integer, default=0)
    correct: Mapped[int] = mapped_column(Integer, default=0)
    wrong: Mapped[int] = mapped_column(Integer, default=0)


class DashRefresh(db.Model):
    """One rebuild of the dashboard summaries (the newest finished one is shown)."""

    __tablename__ = "dash_refreshes"
    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    learner_rows: Mapped[int] = mapped_column(BigInteger, default=0)
