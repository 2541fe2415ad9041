"""Staff: accounts, sessions, roles, and the audit trail of access to other towns' data."""
