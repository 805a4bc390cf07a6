"""Initial schema: users, basecamp_connections, oauth_flows.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "basecamp_connections",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, unique=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=True, unique=True),
        sa.Column("account_name", sa.String(255)),
        sa.Column("href", sa.String(512)),
        sa.Column("access_token_enc", sa.Text),
        sa.Column("refresh_token_enc", sa.Text),
        sa.Column("expires_at", sa.DateTime),
        sa.Column("connected_at", sa.DateTime),
        sa.Column("last_refresh_at", sa.DateTime),
        sa.Column("last_refresh_result", sa.String(32)),
        sa.Column("consecutive_failures", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("refresh_lease_until", sa.DateTime),
        sa.Column("refresh_lease_owner", sa.String(64)),
    )
    op.create_index("ix_basecamp_connections_state", "basecamp_connections", ["state"])
    op.create_index("ix_basecamp_connections_expires_at", "basecamp_connections", ["expires_at"])
    op.create_table(
        "oauth_flows",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("state_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("session_binding", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("used_at", sa.DateTime),
        sa.Column("completed_at", sa.DateTime),
        sa.Column("pending_accounts", sa.JSON),
        sa.Column("pending_tokens_enc", sa.Text),
    )
    op.create_index("ix_oauth_flows_user_id", "oauth_flows", ["user_id"])


def downgrade() -> None:
    op.drop_table("oauth_flows")
    op.drop_table("basecamp_connections")
    op.drop_table("users")
