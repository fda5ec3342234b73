"""certificate pdf: the signed PDF of a certificate, kept exactly as issued

Revision ID: c020501f014a
Revises: 2f55c30b477e
Create Date: 2026-12-02 13:56:19.146969

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c020501f014a'
down_revision = '2f55c30b477e'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pdf', sa.LargeBinary(), nullable=True))


def downgrade():
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_column('pdf')
