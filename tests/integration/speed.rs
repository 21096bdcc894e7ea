//! Speed work that must not regress silently: checked by cause, never by a time.

use axum::serve::Listener;
use telehealth::server::startup::without_delay;
use tokio::net::{TcpListener, TcpStream};

/// Without `TCP_NODELAY` the kernel holds a response's later writes until the client's
/// delayed ACK (~40 ms per page on a keep-alive connection). The app and the simulator both
/// serve through `without_delay`, so a socket accepted through it must carry the option.
#[tokio::test]
async fn every_accepted_socket_has_tcp_nodelay() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut serving = without_delay(listener);
    for _ in 0..3 {
        let (accepted, client) = tokio::join!(serving.accept(), TcpStream::connect(addr));
        let (stream, peer) = accepted;
        let client = client.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        assert!(
            stream.nodelay().unwrap(),
            "an accepted socket lacks TCP_NODELAY"
        );
    }
}

/// Transparent huge pages pinned whole 2 MiB pages of the allocator's arena for a few live
/// objects (server::memory): the server advises them off for the mapping that holds its heap
/// (`nh` in the kernel's flags for it, mimalloc's gigabyte arena, the largest anonymous
/// mapping), and keeps them on for the process, where Argon2's own mappings ask for them.
/// The kernel reports both, so this reads them rather than a memory figure.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_servers_heap_is_kept_off_transparent_huge_pages() {
    let app = crate::helpers::spawn_app().await;
    let status = std::fs::read_to_string(format!("/proc/{}/status", app.pid())).unwrap();
    let thp = status
        .lines()
        .find_map(|line| line.strip_prefix("THP_enabled:"))
        .map(str::trim);
    assert_eq!(thp, Some("1"), "huge pages are off for the whole process");

    let smaps = std::fs::read_to_string(format!("/proc/{}/smaps", app.pid())).unwrap();
    let mut largest_anonymous: Option<(usize, String)> = None;
    let mut current: Option<usize> = None;
    for line in smaps.lines() {
        if let Some(head) = mapping_head(line) {
            current = head;
        } else if let (Some(size), Some(flags)) = (current, line.strip_prefix("VmFlags:")) {
            if largest_anonymous.as_ref().is_none_or(|(s, _)| size > *s) {
                largest_anonymous = Some((size, flags.trim().to_owned()));
            }
        }
    }
    let (size, flags) = largest_anonymous.expect("the app has anonymous mappings");
    assert!(
        size >= 1 << 30,
        "mimalloc's arena is a gigabyte, found {size} bytes"
    );
    assert!(
        flags.split(' ').any(|f| f == "nh"),
        "the heap's mapping may use huge pages: {flags}"
    );
}

/// For a line of smaps that heads a mapping (`start-end perms offset device inode [path]`):
/// `Some(Some(size))` for an anonymous one (no inode, no path), `Some(None)` for any other;
/// `None` for the lines that describe a mapping.
#[cfg(target_os = "linux")]
fn mapping_head(line: &str) -> Option<Option<usize>> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [range, _perms, _offset, _device, inode, ref path @ ..] = fields[..] else {
        return None;
    };
    let (start, end) = range.split_once('-')?;
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    Some((inode == "0" && path.is_empty()).then_some(end - start))
}

/// A site root laid out as `leptos build --release --precompress` with `hash-files` leaves it:
/// hashed bundle files with `.br` and `.gz` beside them, and unhashed files.
fn site_root(dir: &std::path::Path) {
    let pkg = dir.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(
        pkg.join(format!("telehealth.{HASH}.wasm")),
        b"raw wasm bytes",
    )
    .unwrap();
    std::fs::write(
        pkg.join(format!("telehealth.{HASH}.wasm.br")),
        b"brotli bytes",
    )
    .unwrap();
    std::fs::write(
        pkg.join(format!("telehealth.{HASH}.wasm.gz")),
        b"gzip bytes",
    )
    .unwrap();
    std::fs::write(pkg.join("telehealth.js"), b"export {};").unwrap();
    std::fs::write(dir.join("robots.txt"), b"User-agent: *\n").unwrap();
}

const HASH: &str = "q1w2e3r4t5y6u7i8o9p0a-";

async fn get(
    app: &crate::helpers::TestApp,
    path: &str,
    encodings: Option<&str>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(app.url(path));
    if let Some(encodings) = encodings {
        request = request.header("accept-encoding", encodings);
    }
    request.send().await.unwrap()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn static_files_are_precompressed_and_cached_by_their_names() {
    use crate::helpers::{fresh_database_url, spawn_app_on, TempDir};
    let site = TempDir::new();
    site_root(&site.0);
    let dir = TempDir::new();
    let database_url = fresh_database_url(&dir).await;
    let root = site.0.display().to_string();
    let app = spawn_app_on(
        dir,
        database_url,
        &[("DEMO_MODE", "true"), ("LEPTOS_SITE_ROOT", &root)],
    )
    .await;
    let wasm = format!("/pkg/telehealth.{HASH}.wasm");

    for (accept, encoding, body) in [
        (Some("gzip, deflate, br"), Some("br"), "brotli bytes"),
        (Some("br;q=0.5, gzip"), Some("gzip"), "gzip bytes"),
        (Some("gzip"), Some("gzip"), "gzip bytes"),
        (None, None, "raw wasm bytes"),
        (Some("identity"), None, "raw wasm bytes"),
    ] {
        let response = get(&app, &wasm, accept).await;
        assert_eq!(response.status(), 200, "{accept:?}");
        assert_eq!(
            header(&response, "content-encoding"),
            encoding,
            "{accept:?}"
        );
        assert_eq!(
            header(&response, "cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        assert_eq!(header(&response, "vary"), Some("accept-encoding"));
        assert_eq!(header(&response, "content-type"), Some("application/wasm"));
        assert_eq!(response.text().await.unwrap(), body, "{accept:?}");
    }

    for path in ["/pkg/telehealth.js", "/robots.txt"] {
        let response = get(&app, path, Some("br, gzip")).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            header(&response, "cache-control"),
            Some("no-cache"),
            "{path}"
        );
        assert_eq!(header(&response, "content-encoding"), None, "{path}");
    }

    // Pages are personal: never cached, whatever the static rules say.
    let response = get(&app, "/login", Some("br, gzip")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
    let response = get(&app, "/pkg/no-such-file.js", None).await;
    assert_eq!(response.status(), 404);
    assert_ne!(
        header(&response, "cache-control"),
        Some("public, max-age=31536000, immutable")
    );
}

/// `POST /api/visits/list` and the `/visits` page with `cookie`, on `app`: the status of each.
async fn statuses_with(app: &crate::helpers::TestApp, cookie: &str) -> (u16, u16) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let api = client
        .post(app.url("/api/visits/list"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    let page = client
        .get(app.url("/visits"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    (api, page)
}

/// The session's user is read with the session in one query, and each instance remembers
/// which user a session belongs to; neither may let an ended session through. Two instances
/// share one database: each change made on one counts on the very next request on the other
/// (and on itself), after both have served the session before.
#[tokio::test]
async fn logout_password_change_and_deactivation_count_at_once_on_every_instance() {
    use crate::fixtures::login_cookie;
    use crate::helpers::{
        me_with_cookie, post_with, spawn_app, spawn_app_on, TempDir, ADMIN, PATIENT, RECEPTIONIST,
    };
    let a = spawn_app().await;
    let b = spawn_app_on(TempDir::new(), a.database_url.clone(), &[]).await;
    let served = |value: serde_json::Value, email: &str| assert_eq!(value["email"], email);

    // Logout on A: B refuses the cookie at its next request.
    let cookie = login_cookie(&a, PATIENT).await;
    for app in [&a, &b, &a, &b] {
        served(me_with_cookie(app, &cookie).await, PATIENT.0);
        assert_eq!(statuses_with(app, &cookie).await, (200, 200));
    }
    assert_eq!(
        post_with(&a, &cookie, "/api/auth/logout", &[])
            .await
            .status(),
        200
    );
    for app in [&b, &a] {
        assert_eq!(me_with_cookie(app, &cookie).await, serde_json::Value::Null);
        assert_eq!(statuses_with(app, &cookie).await, (401, 303));
    }

    // A password change on B: the other session (used on A and B before) ends everywhere,
    // the changing one goes on.
    let phone = login_cookie(&a, PATIENT).await;
    let laptop = login_cookie(&b, PATIENT).await;
    for app in [&a, &b] {
        served(me_with_cookie(app, &phone).await, PATIENT.0);
        served(me_with_cookie(app, &laptop).await, PATIENT.0);
    }
    let response = post_with(
        &b,
        &laptop,
        "/api/profile/password",
        &[
            ("current_password", PATIENT.1),
            ("new_password", "a brand new passphrase"),
        ],
    )
    .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    for app in [&a, &b] {
        assert_eq!(statuses_with(app, &phone).await, (401, 303));
        assert_eq!(me_with_cookie(app, &phone).await, serde_json::Value::Null);
        served(me_with_cookie(app, &laptop).await, PATIENT.0);
        assert_eq!(statuses_with(app, &laptop).await, (200, 200));
    }

    // Deactivation on A: the receptionist, served on both before, is refused on B at once.
    let admin = login_cookie(&a, ADMIN).await;
    let desk = login_cookie(&b, RECEPTIONIST).await;
    for app in [&a, &b] {
        served(me_with_cookie(app, &desk).await, RECEPTIONIST.0);
    }
    let users: serde_json::Value = post_with(&a, &admin, "/api/admin/users/list", &[])
        .await
        .json()
        .await
        .unwrap();
    let id = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == RECEPTIONIST.0)
        .unwrap()["id"]
        .to_string();
    let response = post_with(
        &a,
        &admin,
        "/api/admin/users/update",
        &[
            ("id", id.as_str()),
            ("email", RECEPTIONIST.0),
            ("role", "receptionist"),
            ("active", "false"),
        ],
    )
    .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    for app in [&b, &a] {
        assert_eq!(statuses_with(app, &desk).await, (401, 303));
        assert_eq!(me_with_cookie(app, &desk).await, serde_json::Value::Null);
    }
}

/// The list is built by the database as one JSON text (`Db::appointments`), the visit alone
/// row by row (`Db::appointment`): the two must agree on every field a viewer sees, for
/// every role, whatever the text holds (quotes, backslashes, control characters, non-Latin
/// script, no reason at all), and the list must come soonest first.
#[tokio::test]
async fn a_listed_visit_is_the_visit_opened_alone() {
    use crate::fixtures::{book, clinic, local_in};
    use serde_json::Value;
    use std::time::Duration;
    let clinic = clinic(&[]).await;
    let zone = "America/New_York";
    let reasons = [
        Some("\"quoted\", back\\slash, tab\there,\nnew line"),
        None,
        Some("naïve — 日本語の問診 😷 </script><b>"),
    ];
    // Booked out of order: the list must sort them.
    let mut booked = Vec::new();
    for (minutes, reason) in [(300, reasons[0]), (90, reasons[1]), (200, reasons[2])] {
        let doctor = clinic.doctor_id.to_string();
        let patient = clinic.patient_id.to_string();
        let start = local_in(minutes, zone);
        let mut form = vec![
            ("doctor_id", doctor.as_str()),
            ("patient_id", patient.as_str()),
            ("start", start.as_str()),
            ("zone", zone),
            ("duration", "45"),
        ];
        if let Some(reason) = reason {
            form.push(("reason", reason));
        }
        let response = clinic.app.book_visit(&clinic.receptionist, &form).await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        booked.push(response.json::<Value>().await.unwrap()["id"].clone());
    }
    let plain = book(
        &clinic.app,
        &clinic.receptionist,
        clinic.doctor_id,
        Some(clinic.patient_id),
        &local_in(400, "Europe/Berlin"),
        "Europe/Berlin",
    )
    .await;
    let cancelled = plain.json::<Value>().await.unwrap()["id"].clone();
    let response = clinic
        .app
        .cancel_visit(&clinic.receptionist, cancelled.as_str().unwrap())
        .await;
    assert_eq!(response.status(), 200);
    // The meeting worker settles every meeting first, so the two reads see the same state.
    let ids: Vec<String> = booked
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect();
    clinic
        .wait_for_state(&ids, "ready", Duration::from_secs(20))
        .await;
    clinic
        .wait_for_state(
            &[cancelled.as_str().unwrap().to_owned()],
            "cancelled",
            Duration::from_secs(20),
        )
        .await;

    for viewer in [
        &clinic.admin,
        &clinic.receptionist,
        &clinic.doctor,
        &clinic.patient,
    ] {
        let list: Value = clinic.app.list_visits(viewer).await.json().await.unwrap();
        let list = list.as_array().unwrap();
        assert_eq!(list.len(), 4, "{list:?}");
        let starts: Vec<i64> = list
            .iter()
            .map(|v| v["starts_at"].as_i64().unwrap())
            .collect();
        assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");
        for listed in list {
            let alone = clinic.visit(viewer, listed["id"].as_str().unwrap()).await;
            assert_eq!(listed, &alone);
        }
        // The reason is the patient's own words: every viewer sees it exactly as booked.
        for (id, reason) in booked.iter().zip(reasons) {
            let listed = list.iter().find(|v| &v["id"] == id).unwrap();
            assert_eq!(listed["reason"], reason.map_or(Value::Null, Value::from));
        }
        let cancelled_one = list.iter().find(|v| v["id"] == cancelled).unwrap();
        assert_eq!(cancelled_one["cancelled"], true);
    }
}
