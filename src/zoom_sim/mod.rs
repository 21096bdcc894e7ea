//! Zoom simulator (being written).
