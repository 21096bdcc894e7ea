//! Reusable pieces of pages.

pub mod field;
pub mod nav;
