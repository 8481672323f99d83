"""agency waiting index

Revision ID: 0008_agency_waiting_index
Revises: 0007_issue_indexes
The waiting counts every issue and call publishes are read along
ix_tickets_agency_waiting (agency, day, status, service): only the agency's
waiting tickets, where ix_tickets_agency_day (agency, day, service, status)
made the count walk every leg of the agency's day, a cost that grew with
each ticket of a busy day.

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0008_agency_waiting_index'
down_revision = '0007_issue_indexes'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_agency_day')
        batch_op.create_index('ix_tickets_agency_waiting', ['agency_id', 'service_day', 'status', 'service_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_agency_waiting')
        batch_op.create_index('ix_tickets_agency_day', ['agency_id', 'service_day', 'service_id', 'status'],
                              unique=False)
