//! Static files (the wasm bundle, its JavaScript glue, the stylesheet, `public/`), served from
//! the site root with the precompressed variant the client accepts (`.br`, `.gz`, written by
//! `leptos build --release --precompress`), and cached by what their names promise: a name
//! carrying cargo-leptos' content hash (`hash-files = true`) never changes its content, so the
//! browser may keep it for a year; anything else must be revalidated on each use.
//! Paths that are no file are rendered by the app (its "not found" page).

use crate::app::shell;
use crate::server::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::Response;

pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
pub const REVALIDATE: &str = "no-cache";

/// Leptos reads cargo-leptos' `hash.txt` beside the running binary on every page, and panics
/// when hashing is on and the file is missing (a binary built by plain `cargo build`, as the
/// tests do, or copied without it). Without the file, the unhashed names are the right ones.
pub fn settle_hash_files(options: &mut leptos::config::LeptosOptions) {
    if !options.hash_files {
        return;
    }
    if !hash_file(options).is_some_and(|file| file.is_file()) {
        tracing::info!(
            "no {} beside the binary: serving the bundle under its unhashed names",
            options.hash_file
        );
        options.hash_files = false;
    }
}

/// The `Link` header of the app's pages: the stylesheet, script and wasm the page is about to
/// ask for, which its head names too (the stylesheet's link, Leptos' preloads). A browser acts on
/// the header as soon as the response's headers arrive, before it has parsed the page: on a
/// slow phone the bundle's download starts that much earlier (Fast 3G with a 4x slower CPU:
/// the tags were read ~100 ms after the page arrived). `None` in builds without hashed names
/// (plain `cargo build`), where the head's tags suffice.
pub fn bundle_preload(options: &leptos::config::LeptosOptions) -> Option<HeaderValue> {
    if !options.hash_files {
        return None;
    }
    let hashes = std::fs::read_to_string(hash_file(options)?).ok()?;
    preload_links(&hashes, &options.site_pkg_dir, &options.output_name)
}

/// Where Leptos reads cargo-leptos' `hash.txt`: beside the running binary.
fn hash_file(options: &leptos::config::LeptosOptions) -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.join(options.hash_file.as_ref()))
}

/// `hash_txt` is cargo-leptos' `hash.txt`: `js: <hash>` and the like, one file per line.
fn preload_links(hash_txt: &str, pkg_dir: &str, name: &str) -> Option<HeaderValue> {
    let hash = |kind: &str| {
        hash_txt.lines().find_map(|line| {
            let (file, hash) = line.split_once(':')?;
            (file.trim() == kind).then(|| hash.trim())
        })
    };
    let file = |kind: &str| Some(format!("/{pkg_dir}/{name}.{}.{kind}", hash(kind)?));
    // The attributes are those of Leptos' own tags (`HydrationScripts`): a preload is only
    // used by a request made with the same ones, `crossorigin` above all.
    let mut links = format!(
        "<{}>; rel=modulepreload, <{}>; rel=preload; as=fetch; type=\"application/wasm\"; \
         crossorigin",
        file("js")?,
        file("wasm")?,
    );
    if let Some(css) = file("css") {
        links.push_str(&format!(", <{css}>; rel=preload; as=style"));
    }
    // The split bundle's loader, which the script imports: on the pages that are not split off
    // the head does not name it, so it was asked for only once the script had arrived, a round
    // trip behind the wasm, and the app cannot start before it is there.
    if let Some(split) = hash("split") {
        links.push_str(&format!(
            ", </{pkg_dir}/__wasm_split.{split}.js>; rel=modulepreload"
        ));
    }
    HeaderValue::from_str(&links).ok()
}

/// The router's fallback: a file from the site root, or the app's page for the path.
pub async fn static_or_page(uri: Uri, state: State<AppState>, request: Request) -> Response {
    let hashed = is_hashed(uri.path(), &state.leptos_options.site_pkg_dir);
    let mut response =
        leptos_axum::file_and_error_handler::<AppState, _>(shell)(uri, state, request).await;
    let file = matches!(
        response.status(),
        StatusCode::OK | StatusCode::NOT_MODIFIED | StatusCode::PARTIAL_CONTENT
    ) && !response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if !file {
        return response;
    }
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if hashed { IMMUTABLE } else { REVALIDATE }),
    );
    // The same URL answers brotli, gzip or identity by `Accept-Encoding`: a shared cache
    // must not hand one client's encoding to another.
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    response
}

/// `/pkg/telehealth.<hash>.wasm`: cargo-leptos names hashed files `<name>.<hash>.<ext>`, the
/// hash being 22 characters of URL-safe base64 (an MD5 of the content).
fn is_hashed(path: &str, pkg_dir: &str) -> bool {
    let Some(name) = path
        .strip_prefix('/')
        .and_then(|p| p.strip_prefix(pkg_dir.trim_matches('/')))
        .and_then(|p| p.strip_prefix('/'))
    else {
        return false;
    };
    if name.contains('/') {
        return false;
    }
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() >= 3
        && parts[1..parts.len() - 1].iter().any(|part| {
            part.len() == 22
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                // cargo-leptos' placeholder for the split loader's hash, in builds that
                // hash nothing: the same name for every build's loader.
                && part.bytes().any(|b| b != b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::{is_hashed, preload_links};

    #[test]
    fn pages_name_the_hashed_bundle_in_their_link_header() {
        let hashes = "js: AbCdEfGhIjKlMnOpQrSt_1\nwasm: AbCdEfGhIjKlMnOpQrSt_2\n\
                      css: AbCdEfGhIjKlMnOpQrSt_3\nmanifest: x\nsplit: AbCdEfGhIjKlMnOpQrSt_4\n";
        let links = preload_links(hashes, "pkg", "telehealth").unwrap();
        assert_eq!(
            links.to_str().unwrap(),
            "</pkg/telehealth.AbCdEfGhIjKlMnOpQrSt_1.js>; rel=modulepreload, \
             </pkg/telehealth.AbCdEfGhIjKlMnOpQrSt_2.wasm>; rel=preload; as=fetch; \
             type=\"application/wasm\"; crossorigin, \
             </pkg/telehealth.AbCdEfGhIjKlMnOpQrSt_3.css>; rel=preload; as=style, \
             </pkg/__wasm_split.AbCdEfGhIjKlMnOpQrSt_4.js>; rel=modulepreload"
        );
        // A bundle built without `--split` has no loader to name.
        let unsplit = preload_links(
            "js: AbCdEfGhIjKlMnOpQrSt_1\nwasm: AbCdEfGhIjKlMnOpQrSt_2\ncss: AbCdEfGhIjKlMnOpQrSt_3\n",
            "pkg",
            "telehealth",
        )
        .unwrap();
        assert!(!unsplit.to_str().unwrap().contains("__wasm_split"));
        // A hash file without the wasm's hash names nothing rather than a wrong file.
        assert!(preload_links("js: a\ncss: b\n", "pkg", "telehealth").is_none());
        // Without a stylesheet the script and the wasm are still named.
        let no_css = preload_links("js: a\nwasm: b\n", "pkg", "telehealth").unwrap();
        assert!(!no_css.to_str().unwrap().contains(".css"));
    }

    #[test]
    fn only_content_hashed_names_under_pkg_count_as_hashed() {
        assert!(is_hashed(
            "/pkg/telehealth.AbCdEfGhIjKlMnOpQrSt_-.wasm",
            "pkg"
        ));
        assert!(is_hashed(
            "/pkg/telehealth.AbCdEfGhIjKlMnOpQrSt_-.css",
            "pkg"
        ));
        // The split bundle: the loader, each page's chunk, the chunks they share.
        assert!(is_hashed(
            "/pkg/__wasm_split.AbCdEfGhIjKlMnOpQrSt_-.js",
            "pkg"
        ));
        assert!(is_hashed(
            "/pkg/split___audit_route_view_1290.AbCdEfGhIjKlMnOpQrSt_-.wasm",
            "pkg"
        ));
        assert!(is_hashed("/pkg/chunk_7.AbCdEfGhIjKlMnOpQrSt_-.wasm", "pkg"));
        assert!(!is_hashed(
            "/pkg/__wasm_split.______________________.js",
            "pkg"
        ));
        assert!(!is_hashed("/pkg/telehealth.wasm", "pkg"));
        assert!(!is_hashed("/pkg/telehealth.js", "pkg"));
        assert!(!is_hashed("/pkg/telehealth.short.js", "pkg"));
        assert!(!is_hashed("/favicon.AbCdEfGhIjKlMnOpQrSt_-.ico", "pkg"));
        assert!(!is_hashed(
            "/pkg/x/telehealth.AbCdEfGhIjKlMnOpQrSt_-.js",
            "pkg"
        ));
        assert!(!is_hashed(
            "/pkgs/telehealth.AbCdEfGhIjKlMnOpQrSt_-.js",
            "pkg"
        ));
    }
}
