"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
from migrator.schema_migrations import moves
${imports if imports else ""}

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}

#: The schema version a database is at once this revision is applied (Schema(version=...)).
schema_version = ${schema_version}
#: Each table's usual document key order at this revision (what the next revision starts from).
layout = ${layout}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
