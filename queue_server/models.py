"""SQLAlchemy models: the one place the database schema is described.

Plain SQLAlchemy 2 declarative classes (no Flask imports) so the domain layer and
the tests can use them with a bare ``Session``; Flask-SQLAlchemy is handed this
``Base`` as its model class.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, hands back aware UTC: the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use aware UTC datetimes")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Role(enum.StrEnum):
    OFFICER = "officer"
    MANAGER = "manager"
    ADMIN = "admin"


class DeviceKind(enum.StrEnum):
    KIOSK = "kiosk"
    DISPLAY = "display"
    PRINT_AGENT = "print_agent"


class TicketStatus(enum.StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    NO_SHOW = "no_show"
    TRANSFERRED = "transferred"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


ACTIVE_TICKET_STATUSES = (TicketStatus.CALLED, TicketStatus.SERVING)


class Priority(enum.StrEnum):
    NONE = "none"
    ELDERLY = "elderly"
    DISABLED = "disabled"
    PREGNANT = "pregnant"  # pregnant or with an infant


class PrintStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for (another) attempt
    PRINTING = "printing"  # claimed by a dispatcher or handed to an agent
    PRINTED = "printed"
    FAILED = "failed"  # gave up; staff can reprint


class PrinterState(enum.StrEnum):
    UNKNOWN = "unknown"
    OK = "ok"
    PAPER_LOW = "paper_low"
    PAPER_OUT = "paper_out"
    OFFLINE = "offline"
    ERROR = "error"


class CounterState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    PAUSED = "paused"


class Site(Base):
    """The one MPP this server runs; settings that shape every agency."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Jakarta")
    default_language: Mapped[str] = mapped_column(String(8), default="id")
    priority_mode: Mapped[str] = mapped_column(String(16), default="ratio")
    priority_ratio: Mapped[int] = mapped_column(Integer, default=2)
    no_show_grace_seconds: Mapped[int] = mapped_column(Integer, default=120)
    closed_dates: Mapped[list[str]] = mapped_column(JSON, default=list)


class Agency(Base):
    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    prefix: Mapped[str] = mapped_column(String(3))
    zone: Mapped[str] = mapped_column(String(60), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # {"mon": [["08:00","12:00"], ...], ..., "cutoff_minutes": 30, ...}; see domain/hours.py
    hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    services: Mapped[list[Service]] = relationship(
        back_populates="agency", order_by="Service.id"
    )
    counters: Mapped[list[Counter]] = relationship(
        back_populates="agency", order_by="Counter.number"
    )


class Service(Base):
    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("agency_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300), default="")
    prefix: Mapped[str] = mapped_column(String(3))
    daily_quota: Mapped[int] = mapped_column(Integer, default=0)  # 0 = unlimited
    target_wait_minutes: Mapped[int] = mapped_column(Integer, default=30)
    avg_service_minutes: Mapped[float] = mapped_column(default=10.0)
    documents: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The officer writes a note when finishing (e.g. the permit or receipt number).
    note_required: Mapped[bool] = mapped_column(Boolean, default=False)

    agency: Mapped[Agency] = relationship(back_populates="services")


counter_services = Table(
    "counter_services",
    Base.metadata,
    Column("counter_id", ForeignKey("counters.id", ondelete="CASCADE"), primary_key=True),
    Column("service_id", ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
    # The counters serving one service, for every issue's wait estimate (the key starts with counter_id).
    Index("ix_counter_services_service", "service_id", "counter_id"),
)


class Counter(Base):
    __tablename__ = "counters"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(String(60))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    zone: Mapped[str] = mapped_column(String(60), default="")
    state: Mapped[str] = mapped_column(String(10), default=CounterState.CLOSED)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    current_ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", use_alter=True)
    )
    # Consecutive priority calls made by this counter; drives the "ratio" rule.
    priority_streak: Mapped[int] = mapped_column(Integer, default=0)
    state_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    agency: Mapped[Agency] = relationship(back_populates="counters")
    services: Mapped[list[Service]] = relationship(secondary=counter_services)
    officer: Mapped[User | None] = relationship(foreign_keys=[officer_id])
    current_ticket: Mapped[Ticket | None] = relationship(foreign_keys=[current_ticket_id])


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(10))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set when the password came in plain text from a config file: refused in production.
    demo_credential: Mapped[bool] = mapped_column(Boolean, default=False)

    agency: Mapped[Agency | None] = relationship()

    # Flask-Login's user protocol, kept here so the model needs no Flask import.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)


class ApiToken(Base):
    """Bearer tokens for people (scripts, the counter CLI); only a hash is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class Device(Base):
    """A kiosk, hall display or print agent; authenticates with a secret key."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(120), default="")
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    demo_credential: Mapped[bool] = mapped_column(Boolean, default=False)
    # Display/kiosk scope: {"zones": [...], "agencies": [...codes]}; empty = everything.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # A kiosk's ticket printer as last seen (printing or probing): PrinterState values.
    printer_state: Mapped[str] = mapped_column(String(12), default="unknown")
    printer_error: Mapped[str] = mapped_column(String(200), default="")
    printer_checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class NumberSequence(Base):
    """Last number handed out per prefix and local service day (row-locked on issue)."""

    __tablename__ = "number_sequences"

    prefix: Mapped[str] = mapped_column(String(3), primary_key=True)
    service_day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


REPORT_FILTER_COLUMNS = ("service_day", "agency_id", "service_id", "counter_id", "officer_id")


class Ticket(Base):
    """One leg of a visitor's ticket in one service.

    A transfer closes the leg as ``transferred`` and opens a new ``waiting`` leg
    in the target service with the same number, token and arrival time, so
    every report can count per service without replaying events.
    """

    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("prefix", "service_day", "sequence", "leg"),
        UniqueConstraint("token", "leg"),
        UniqueConstraint("device_id", "request_id"),
        # A service's waiting line in calling order; also answers "how many are ahead"
        # without reading the table (priority is there for the strict rule).
        Index("ix_tickets_queue", "service_id", "status", "service_day", "arrived_at", "priority"),
        # Per-service counts of a day (issued for quotas, waiting) read from the index alone.
        Index("ix_tickets_day_service", "service_day", "service_id", "leg", "status"),
        # An agency's waiting counts of a day, from its waiting tickets alone: what every
        # issue and call publishes.
        Index("ix_tickets_agency_waiting", "agency_id", "service_day", "status", "service_id"),
        # A service's latest finished legs, for the average service time of the estimate.
        Index("ix_tickets_recent_service", "service_id", "status", "finished_at", "service_seconds"),
        # Reports' exact percentiles: GROUP BY a duration read along these covering
        # indexes needs no sort, whatever the period and filter (domain/reports.py).
        Index("ix_tickets_wait_order", "wait_seconds", *REPORT_FILTER_COLUMNS),
        Index("ix_tickets_service_order", "service_seconds", *REPORT_FILTER_COLUMNS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32), index=True)
    leg: Mapped[int] = mapped_column(Integer, default=1)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    number: Mapped[str] = mapped_column(String(10))
    prefix: Mapped[str] = mapped_column(String(3))
    sequence: Mapped[int] = mapped_column(Integer)
    service_day: Mapped[dt.date] = mapped_column(Date)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))  # see ix_tickets_agency_day
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    priority: Mapped[str] = mapped_column(String(10), default=Priority.NONE)
    status: Mapped[str] = mapped_column(String(12), default=TicketStatus.WAITING)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    request_id: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")

    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # the visitor's arrival
    arrived_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # queue order (kept on transfer)
    queued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # entered this leg's queue
    first_called_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    called_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # the last call
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # any end state
    recall_count: Mapped[int] = mapped_column(Integer, default=0)

    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    # Stored durations in seconds, set when the leg reaches the matching state.
    wait_seconds: Mapped[int | None] = mapped_column(Integer)  # last call - queued
    walk_seconds: Mapped[int | None] = mapped_column(Integer)  # start - last call
    service_seconds: Mapped[int | None] = mapped_column(Integer)  # finish - start
    total_seconds: Mapped[int | None] = mapped_column(Integer)  # finish - queued

    service: Mapped[Service] = relationship()
    agency: Mapped[Agency] = relationship()
    counter: Mapped[Counter | None] = relationship(foreign_keys=[counter_id])

    @property
    def is_priority(self) -> bool:
        return self.priority != Priority.NONE


class TicketEvent(Base):
    """Append-only history: every state change with its time, actor and counter."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CounterEvent(Base):
    """Counter open/pause/close history: who staffed which counter when."""

    __tablename__ = "counter_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    from_state: Mapped[str] = mapped_column(String(10))
    to_state: Mapped[str] = mapped_column(String(10))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class PrintJob(Base):
    """One ticket to print on one kiosk's printer, with its attempts.

    Created in the same transaction as the ticket (or by a reprint), so a
    ticket never exists without its print record; the bytes are rendered
    then, so a retry prints exactly what the visitor was told at issue time.
    """

    __tablename__ = "print_jobs"
    __table_args__ = (Index("ix_print_jobs_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), index=True)  # the kiosk
    target: Mapped[str] = mapped_column(String(200))  # printer URL when created, or "agent"
    payload: Mapped[bytes] = mapped_column(LargeBinary)  # ESC/POS bytes
    status: Mapped[str] = mapped_column(String(12), default=PrintStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(200), default="")
    reprint: Mapped[bool] = mapped_column(Boolean, default=False)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # a claim's lease
    printed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    ticket: Mapped[Ticket] = relationship()
    device: Mapped[Device] = relationship()


class SurveyResponse(Base):
    """One visitor's satisfaction survey (SKM) of a finished ticket: one per
    visitor (token), scores 1-4 per element U1..U9 (null when skipped)."""

    __tablename__ = "survey_responses"
    __table_args__ = (Index("ix_survey_day_agency", "service_day", "agency_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))  # the leg that was served
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    service_day: Mapped[dt.date] = mapped_column(Date)
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    u1: Mapped[int | None] = mapped_column(Integer)
    u2: Mapped[int | None] = mapped_column(Integer)
    u3: Mapped[int | None] = mapped_column(Integer)
    u4: Mapped[int | None] = mapped_column(Integer)
    u5: Mapped[int | None] = mapped_column(Integer)
    u6: Mapped[int | None] = mapped_column(Integer)
    u7: Mapped[int | None] = mapped_column(Integer)
    u8: Mapped[int | None] = mapped_column(Integer)
    u9: Mapped[int | None] = mapped_column(Integer)
    suggestion: Mapped[str] = mapped_column(Text, default="")


# -- report roll-up -------------------------------------------------------------------------------------

# Counts of the legs of one closed service day (see queue_server/domain/rollup.py)
# at three levels of detail: per agency (level 0), per service (1) and per service,
# counter and officer (2); coarser levels leave the finer columns empty. Reports
# read the coarsest level their filter allows instead of every leg. Columns match
# domain.reports.Counts.FIELDS.
ROLLUP_COUNTS = ("legs", "issued", "transferred_in", "served", "no_show", "cancelled", "expired",
                 "transferred", "open", "wait_count", "wait_sum", "within_target", "service_count",
                 "service_sum")
ROLLUP_HOURS = tuple(f"arrivals_{hour:02d}" for hour in range(24))  # new visitors per local hour

report_days = Table(
    "report_days",
    Base.metadata,
    Column("service_day", Date, primary_key=True),
    Column("rolled_at", UTCDateTime, nullable=False),
)

report_rollup = Table(
    "report_rollup",
    Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("level", Integer, nullable=False),
    Column("service_day", Date, nullable=False),
    Column("agency_id", ForeignKey("agencies.id"), nullable=False),
    Column("service_id", ForeignKey("services.id")),
    Column("counter_id", ForeignKey("counters.id")),
    Column("officer_id", ForeignKey("users.id")),
    *(Column(name, Integer, nullable=False, default=0) for name in ROLLUP_COUNTS + ROLLUP_HOURS),
    Index("ix_report_rollup_level_day", "level", "service_day", "agency_id", "service_id"),
)


class AuditEntry(Base):
    """One administrative change: who changed what, and the changed fields
    before and after. Secrets are never stored: a changed password or device
    key appears as "(changed)"."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(20))  # create, update, rotate_key, delete, import
    entity_kind: Mapped[str] = mapped_column(String(20))  # agency, service, counter, user, ...
    entity_id: Mapped[int | None] = mapped_column(Integer)
    entity_code: Mapped[str] = mapped_column(String(80), default="")
    before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    user: Mapped[User | None] = relationship()
