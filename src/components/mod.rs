//! Reusable pieces of pages.

pub mod field;
pub mod live;
pub mod nav;
pub mod resource;
pub mod submission;
pub mod zone;
