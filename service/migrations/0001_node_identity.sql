-- Which node owns this database. One row at most: a node refuses to start on a database
-- that another node claimed (see service/db.py claim_database).
CREATE TABLE node_identity (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    node_id text NOT NULL,
    town_code char(6) NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now()
);
