-- Schema version 3: connect sessions (an app sending one of its users
-- through the consent flow) and the links between the app's users and
-- Google accounts they leave.

-- +goose Up
CREATE TABLE riscd_connect (
    id         bytea PRIMARY KEY,         -- the session id (not a bearer credential)
    expires_ns bigint NOT NULL,
    doc        bytea NOT NULL             -- login hint and email sealed; digests of the start token and state
);

CREATE TABLE riscd_app_user_links (
    app_user   bytea NOT NULL,
    sub        bytea NOT NULL,
    created_ns bigint,                    -- NULL: unknown
    PRIMARY KEY (app_user, sub)
);
CREATE INDEX riscd_app_user_links_sub ON riscd_app_user_links (sub, app_user);

-- +goose Down
DROP TABLE riscd_app_user_links;
DROP TABLE riscd_connect;
