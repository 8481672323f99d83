"""report roll-up

Revision ID: 0006_report_rollup
Revises: 0005_audit_log
Per-day sums of closed service days (report_rollup) and the days done (report_days),
read by the reports instead of every ticket leg; covering indexes ordered by wait and
service seconds for the exact percentiles.

"""
from alembic import op
import sqlalchemy as sa

import queue_server.models


# revision identifiers, used by Alembic.
revision = '0006_report_rollup'
down_revision = '0005_audit_log'
branch_labels = None
depends_on = None

COUNTS = ("legs", "issued", "transferred_in", "served", "no_show", "cancelled", "expired",
          "transferred", "open", "wait_count", "wait_sum", "within_target", "service_count",
          "service_sum")
HOURS = tuple(f"arrivals_{hour:02d}" for hour in range(24))
FILTERS = ["service_day", "agency_id", "service_id", "counter_id", "officer_id"]


def upgrade():
    op.create_table('report_days',
    sa.Column('service_day', sa.Date(), nullable=False),
    sa.Column('rolled_at', queue_server.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('service_day', name=op.f('pk_report_days'))
    )
    op.create_table('report_rollup',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('service_day', sa.Date(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=True),
    sa.Column('counter_id', sa.Integer(), nullable=True),
    sa.Column('officer_id', sa.Integer(), nullable=True),
    *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS + HOURS),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_report_rollup_agency_id_agencies')),
    sa.ForeignKeyConstraint(['counter_id'], ['counters.id'], name=op.f('fk_report_rollup_counter_id_counters')),
    sa.ForeignKeyConstraint(['officer_id'], ['users.id'], name=op.f('fk_report_rollup_officer_id_users')),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_report_rollup_service_id_services')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_rollup'))
    )
    with op.batch_alter_table('report_rollup', schema=None) as batch_op:
        batch_op.create_index('ix_report_rollup_level_day', ['level', 'service_day', 'agency_id', 'service_id'], unique=False)
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_wait_order', ['wait_seconds', *FILTERS], unique=False)
        batch_op.create_index('ix_tickets_service_order', ['service_seconds', *FILTERS], unique=False)


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_service_order')
        batch_op.drop_index('ix_tickets_wait_order')
    with op.batch_alter_table('report_rollup', schema=None) as batch_op:
        batch_op.drop_index('ix_report_rollup_level_day')

    op.drop_table('report_rollup')
    op.drop_table('report_days')
