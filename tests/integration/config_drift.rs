//! Leptos.toml (read by the server at run time) and Cargo.toml's [package.metadata.leptos]
//! (read by cargo-leptos at build time) must agree, or the server looks for files the build
//! did not put there.

fn leptos_section(path: &str) -> toml::Table {
    let text = std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let table: toml::Table = text.parse().unwrap();
    table["package"]["metadata"]["leptos"]
        .as_table()
        .unwrap()
        .clone()
}

#[test]
fn leptos_toml_agrees_with_cargo_toml() {
    let runtime = leptos_section("Leptos.toml");
    let build = leptos_section("Cargo.toml");
    assert!(!runtime.is_empty());
    for (key, value) in &runtime {
        assert_eq!(
            Some(value),
            build.get(key),
            "Leptos.toml's {key} differs from Cargo.toml's"
        );
    }
    for key in ["output-name", "site-root", "site-pkg-dir", "site-addr"] {
        assert!(runtime.contains_key(key), "Leptos.toml lacks {key}");
    }
}
