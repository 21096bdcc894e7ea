//! Telehealth: Zoom video visits for clinics.
//!
//! One crate, built twice: with `ssr` it is the server (pages rendered on the server, server
//! functions, persistence, Zoom calls); with `hydrate` it is the WebAssembly that makes the
//! same pages interactive in the browser. `domain`, `types` and `api` are shared by both.

pub mod api;
pub mod app;
pub mod components;
pub mod domain;
pub mod error;
pub mod pages;
pub mod types;

#[cfg(feature = "ssr")]
pub mod server;

/// A faithful stand-in for Zoom's OAuth and Meetings API, for demo mode and tests.
#[cfg(feature = "ssr")]
pub mod zoom_sim;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
