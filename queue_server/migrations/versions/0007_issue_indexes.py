"""issue indexes

Revision ID: 0007_issue_indexes
Revises: 0006_report_rollup
Indexes that keep issuing a ticket cheap however many tickets the day holds:
the waiting line with its day (how many are ahead), per-day counts per service
and per agency read from the index alone, a service's latest finished legs
(the estimate) and the counters serving a service. ix_tickets_agency_day
replaces ix_tickets_agency_id (same leading column).

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007_issue_indexes'
down_revision = '0006_report_rollup'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_queue')
        batch_op.drop_index('ix_tickets_day_service')
        batch_op.drop_index('ix_tickets_agency_id')
        batch_op.create_index('ix_tickets_queue',
                              ['service_id', 'status', 'service_day', 'arrived_at', 'priority'], unique=False)
        batch_op.create_index('ix_tickets_day_service', ['service_day', 'service_id', 'leg', 'status'],
                              unique=False)
        batch_op.create_index('ix_tickets_agency_day', ['agency_id', 'service_day', 'service_id', 'status'],
                              unique=False)
        batch_op.create_index('ix_tickets_recent_service',
                              ['service_id', 'status', 'finished_at', 'service_seconds'], unique=False)
    with op.batch_alter_table('counter_services', schema=None) as batch_op:
        batch_op.create_index('ix_counter_services_service', ['service_id', 'counter_id'], unique=False)


def downgrade():
    with op.batch_alter_table('counter_services', schema=None) as batch_op:
        batch_op.drop_index('ix_counter_services_service')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_recent_service')
        batch_op.drop_index('ix_tickets_agency_day')
        batch_op.drop_index('ix_tickets_day_service')
        batch_op.drop_index('ix_tickets_queue')
        batch_op.create_index('ix_tickets_agency_id', ['agency_id'], unique=False)
        batch_op.create_index('ix_tickets_day_service', ['service_day', 'service_id'], unique=False)
        batch_op.create_index('ix_tickets_queue', ['service_id', 'status', 'arrived_at'], unique=False)
