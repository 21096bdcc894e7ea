//! Integration tests. They run against SQLite by default and against PostgreSQL with
//! `TEST_DATABASE=postgres TEST_POSTGRES_URL=postgres://…` (scripts/test.sh runs both).

mod access;
mod audit;
mod auth;
mod cli;
mod config_drift;
mod fixtures;
mod hardening;
mod helpers;
mod sim;
mod users;
mod visit_access;
mod visits;
mod zoom_access;
mod zoom_connection;
