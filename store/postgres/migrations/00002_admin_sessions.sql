-- Schema version 2: the admin page's sign-ins, kept in the store so that
-- every replica knows them.

-- +goose Up
CREATE TABLE riscd_admin_sessions (
    id_hash    bytea PRIMARY KEY,         -- SHA-256 of the session id
    created_ns bigint NOT NULL,
    expires_ns bigint,                    -- NULL: never
    doc        bytea NOT NULL
);

-- +goose Down
DROP TABLE riscd_admin_sessions;
