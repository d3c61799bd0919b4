-- riscd's schema, version 1. Every record is a versioned JSON document
-- (doc) whose secrets are sealed by package seal; the other columns are
-- derived from it (or from the secret it names, hashed) for lookups and
-- ordering, and riscd store check verifies they agree. Keys and names that
-- are compared byte for byte (subjects, emails) are bytea, so that they
-- order as bytes whatever the database's collation, and hold any bytes.

-- +goose Up
CREATE TABLE riscd_keys (
    id          bytea PRIMARY KEY,        -- seal key id
    check_value bytea NOT NULL            -- a known text sealed with that key
);

CREATE TABLE riscd_grants (
    id             text PRIMARY KEY,      -- 24 hex digits, sortable by creation
    sub            bytea NOT NULL,
    status         text NOT NULL,
    email_lower    bytea,                 -- the verified email, lower-cased; NULL if none
    refresh_digest bytea UNIQUE,          -- riscd.RefreshTokenDigest of the refresh token
    refresh_prefix bytea,                 -- SHA-256 of its first 16 characters
    doc            bytea NOT NULL
);
-- The time part of new grant ids: a sequence never makes a serializable
-- transaction conflict, where reading the newest id would.
CREATE SEQUENCE riscd_grant_clock AS bigint;
CREATE INDEX riscd_grants_sub ON riscd_grants (sub, id);
CREATE INDEX riscd_grants_status ON riscd_grants (status, id);
CREATE INDEX riscd_grants_email ON riscd_grants (email_lower, id) WHERE email_lower IS NOT NULL;
CREATE INDEX riscd_grants_prefix ON riscd_grants (refresh_prefix, id) WHERE refresh_prefix IS NOT NULL;

CREATE TABLE riscd_accounts (
    sub       bytea PRIMARY KEY,
    attention boolean NOT NULL,
    doc       bytea NOT NULL
);
CREATE INDEX riscd_accounts_attention ON riscd_accounts (sub) WHERE attention;

CREATE TABLE riscd_audit (
    id  bigint PRIMARY KEY,
    sub bytea,
    doc bytea NOT NULL
);
CREATE SEQUENCE riscd_audit_id AS bigint;
CREATE INDEX riscd_audit_sub ON riscd_audit (sub, id) WHERE sub IS NOT NULL;

CREATE TABLE riscd_flows (
    id_hash    bytea PRIMARY KEY,         -- SHA-256 of the flow id
    created_ns bigint NOT NULL,
    doc        bytea NOT NULL
);

CREATE TABLE riscd_sessions (
    id_hash    bytea PRIMARY KEY,         -- SHA-256 of the session id
    sub        bytea,
    created_ns bigint NOT NULL,
    expires_ns bigint,                    -- NULL: never
    doc        bytea NOT NULL
);
CREATE INDEX riscd_sessions_sub ON riscd_sessions (sub, created_ns) WHERE sub IS NOT NULL;
CREATE INDEX riscd_sessions_expires ON riscd_sessions (expires_ns) WHERE expires_ns IS NOT NULL;

CREATE TABLE riscd_marks (
    key_hash bytea PRIMARY KEY,           -- SHA-256 of the key
    key      bytea NOT NULL,
    doc      bytea NOT NULL
);

CREATE TABLE riscd_inbox (
    id          bigint PRIMARY KEY,       -- arrival order; see the inbox lock
    jti_hash    bytea NOT NULL UNIQUE,    -- SHA-256 of (iss, jti), length-prefixed
    status      text NOT NULL,
    subject     bytea,
    done_ns     bigint NOT NULL,          -- DoneAt, or ReceivedAt if zero
    doc         bytea NOT NULL
);
CREATE SEQUENCE riscd_inbox_id AS bigint;
CREATE INDEX riscd_inbox_status ON riscd_inbox (status, id);
CREATE INDEX riscd_inbox_subject ON riscd_inbox (subject, id) WHERE subject IS NOT NULL;

CREATE TABLE riscd_outbox (
    id         bigint PRIMARY KEY,
    status     text NOT NULL,
    done_ns    bigint,
    doc        bytea NOT NULL
);
CREATE SEQUENCE riscd_outbox_id AS bigint;
CREATE INDEX riscd_outbox_status ON riscd_outbox (status, id);

-- +goose Down
DROP TABLE riscd_outbox, riscd_inbox, riscd_marks, riscd_sessions, riscd_flows,
    riscd_audit, riscd_accounts, riscd_grants, riscd_keys;
DROP SEQUENCE riscd_grant_clock, riscd_outbox_id, riscd_inbox_id, riscd_audit_id;
