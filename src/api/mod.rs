//! The controller layer: Leptos server functions, one module per feature. Each one finds the
//! caller, parses its input into domain types, calls the service or store below, and answers
//! with a view type from `crate::types`. Every path is explicit and listed in docs/API.md.

pub mod audit;
pub mod auth;
pub mod live;
pub mod outbox;
pub mod preferences;
pub mod profile;
pub mod sign_in;
pub mod users;
pub mod visits;
pub mod zoom;

pub use crate::types::{FieldErrors, Me, ProfileFields, UserView};
