//! Telehealth: Zoom video visits for clinics.
//!
//! One crate, built twice: with `ssr` it is the server (pages rendered on the server, server
//! functions, persistence, Zoom calls); with `hydrate` it is the WebAssembly that makes the
//! same pages interactive in the browser. `domain`, `types` and `api` are shared by both.

// The future that hydrates the whole app (`hydrate` below) is deeper than rustc's default
// query depth allows for computing its layout.
#![cfg_attr(feature = "hydrate", recursion_limit = "256")]

pub mod api;
pub mod app;
pub mod components;
pub mod domain;
pub mod error;
pub mod html;
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
    use leptos::prelude::document;
    console_error_panic_hook::set_once();
    // Hydrated asynchronously: a page split from the main bundle (app.rs, `lazy_page!`)
    // hydrates once its chunk has loaded.
    wasm_bindgen_futures::spawn_local(async {
        let Some(body) = document().body() else {
            return;
        };
        leptos::mount::hydrate_from_async(body.clone(), app::App)
            .await
            .forget();
        // The moment the page became interactive, which the browser tests wait for instead
        // of sleeping: after the page's chunk, not when the app's first effect runs.
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
