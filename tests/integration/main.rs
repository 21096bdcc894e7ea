//! Integration tests. They run against SQLite by default and against PostgreSQL with
//! `TEST_DATABASE=postgres TEST_POSTGRES_URL=postgres://…` (scripts/test.sh runs both).

mod access;
mod audit;
mod auth;
mod cli;
mod config_drift;
mod fixtures;
mod fuzz;
mod hardening;
mod hardening_data;
mod hardening_logins;
mod helpers;
mod mail_sink;
mod model;
mod notifications;
mod preferences;
mod privacy;
mod push;
mod response_cache;
mod sim;
mod speed;
mod tokens_hardening;
mod users;
mod visit_access;
mod visits;
mod webhooks;
mod worker_races;
mod zoom_access;
mod zoom_connection;
