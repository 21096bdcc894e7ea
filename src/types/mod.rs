//! The request and response types that the browser and the server share: what server
//! functions take and answer, and the form parsers that run on both sides. They sit below
//! the controller layer (`api`) and the server so neither has to import from the other.

pub mod audit;
pub mod live;
pub mod mail;
pub mod preferences;
pub mod users;
pub mod visits;
pub mod zoom;

pub use users::{FieldErrors, Me, ProfileFields, UserView};
