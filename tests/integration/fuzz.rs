//! A seeded, bounded fuzz campaign against the real server: malformed requests to every path
//! in docs/API.md (and the app's other pages), as all four roles and anonymously, with form,
//! JSON, raw and oversized bodies, wrong content types and wrong methods. Whatever comes in,
//! the app must answer below 500, never panic, and stay ready.
//!
//! `FUZZ_REQUESTS` sets the number of requests (default 10,000), `FUZZ_SEED` replays a run
//! (every failure prints the seed and how to replay it).

use crate::helpers::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use reqwest::{Client, Method};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const DEFAULT_REQUESTS: usize = 10_000;
/// Requests in flight at once (each worker has its own generator, derived from the seed).
const WORKERS: u64 = 8;

/// Every path written in docs/API.md: backticked text starting with `/`, optionally after a
/// method (`GET /api/zoom/authorize`); a query part is dropped. Plus the pages the app serves
/// that the document lists elsewhere.
fn documented_paths() -> Vec<String> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/API.md"))
        .expect("docs/API.md");
    let mut paths: Vec<String> = doc
        .split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|token| {
            let token = token
                .trim_start_matches("GET ")
                .trim_start_matches("POST ")
                .trim_start_matches("PUT ");
            token.starts_with('/').then(|| {
                let path = token.split('?').next().unwrap_or(token);
                path.to_owned()
            })
        })
        .collect();
    paths.extend(["/zoom", "/admin/zoom", "/pkg/telehealth.js", "/favicon.ico"].map(String::from));
    paths.sort();
    paths.dedup();
    paths
}

/// Argument names of the server functions (docs/API.md), and a few nobody expects.
const FIELDS: &[&str] = &[
    "email",
    "password",
    "current_password",
    "new_password",
    "id",
    "role",
    "display_name",
    "time_zone",
    "active",
    "mode",
    "client_id",
    "client_secret",
    "account_id",
    "doctor_id",
    "zoom_user",
    "patient_id",
    "start",
    "zone",
    "duration",
    "reason",
    "actor",
    "action",
    "visit",
    "from",
    "to",
    "before",
    "code",
    "state",
    "error",
    "next",
    "",
    "id[]",
    "__proto__",
    "email\0",
];

fn random_text(rng: &mut StdRng, max: usize) -> String {
    const ALPHABET: &[char] = &[
        'a', 'Z', '0', '9', ' ', '/', '\\', '%', '&', '=', '?', '#', '"', '\'', '<', '>', '\0',
        '\t', '\n', '\r', '\u{7f}', 'é', 'ß', '日', '🙂', '\u{202e}', '\u{feff}', '.', '-', '+',
        '@', ':', ';', ',', '{', '}', '[', ']', '$', '*',
    ];
    let len = rng.gen_range(0..=max);
    (0..len).map(|_| *ALPHABET.choose(rng).unwrap()).collect()
}

fn visit_id_like(rng: &mut StdRng) -> String {
    let chars: Vec<char> = ('a'..='z').chain('A'..='Z').chain('0'..='9').collect();
    (0..22).map(|_| *chars.choose(rng).unwrap()).collect()
}

/// A value for any field: plausible, hostile or plain garbage.
fn value(rng: &mut StdRng) -> String {
    let plausible = [
        "",
        "0",
        "1",
        "2",
        "3",
        "4",
        "-1",
        "9223372036854775807",
        "-9223372036854775808",
        "99999999999999999999999",
        "1e309",
        "NaN",
        "true",
        "false",
        "null",
        "admin",
        "doctor",
        "patient",
        "receptionist",
        "wizard",
        "user_oauth",
        "server_to_server",
        "Europe/Berlin",
        "America/New_York",
        "Mars/Base",
        "UTC",
        "2026-03-29T02:30",
        "2026-13-45T25:61",
        "2099-01-01T09:00",
        "1970-01-01T00:00",
        "2026-01-01",
        "9999-99-99",
        "30",
        "5",
        "241",
        "-30",
        ADMIN.0,
        DOCTOR.0,
        PATIENT.0,
        ADMIN.1,
        "system",
        "anonymous",
        "visit.open",
        "' OR '1'='1' --",
        "\"; DROP TABLE users; --",
        "<script>alert(1)</script>",
        "=HYPERLINK(\"http://evil.example\")",
        "../../../../etc/passwd",
        "%00",
        "%zz",
        "{{7*7}}",
        "${jndi:ldap://x}",
        "//evil.example",
        "/\t/evil.example",
    ];
    match rng.gen_range(0..10) {
        0..=4 => plausible.choose(rng).unwrap().to_string(),
        5 => visit_id_like(rng),
        6 => random_text(rng, 40),
        7 => random_text(rng, 600),
        8 => "x".repeat(rng.gen_range(1000..9000)),
        _ => format!("{}{}", plausible.choose(rng).unwrap(), random_text(rng, 8)),
    }
}

fn fields(rng: &mut StdRng) -> Vec<(String, String)> {
    let n = rng.gen_range(0..8);
    (0..n)
        .map(|_| {
            let name = if rng.gen_bool(0.9) {
                FIELDS.choose(rng).unwrap().to_string()
            } else {
                random_text(rng, 12)
            };
            (name, value(rng))
        })
        .collect()
}

fn random_json(rng: &mut StdRng, depth: u32) -> Value {
    match rng.gen_range(0..if depth > 3 { 5 } else { 8 }) {
        0 => Value::Null,
        1 => json!(rng.gen::<bool>()),
        2 => json!(rng.gen::<i64>()),
        3 => json!(rng.gen::<f64>()),
        4 => json!(value(rng)),
        5 => Value::Array(
            (0..rng.gen_range(0..4))
                .map(|_| random_json(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let mut object = serde_json::Map::new();
            for (name, _) in fields(rng) {
                object.insert(name, random_json(rng, depth + 1));
            }
            Value::Object(object)
        }
    }
}

/// A path to aim at: a documented one, its `{id}` filled in or mangled, sometimes bent.
fn path(rng: &mut StdRng, paths: &[String]) -> String {
    let template = paths.choose(rng).unwrap();
    let id = match rng.gen_range(0..6) {
        0 => String::new(),
        1 => "..%2F..%2Fadmin".into(),
        2 => random_text(rng, 30)
            .bytes()
            .map(|b| format!("%{b:02X}"))
            .collect(),
        3 => "x".repeat(3000),
        _ => visit_id_like(rng),
    };
    let mut path = template.replace("{id}", &id);
    match rng.gen_range(0..20) {
        0 => path.push('/'),
        1 => path.push_str("/extra/segment"),
        2 => path = path.replacen('/', "//", 1),
        3 => path = path.to_uppercase(),
        4 => path.push_str("%00"),
        5 => path.push_str("/%2e%2e/%2e%2e/api/admin/users/list"),
        _ => {}
    }
    if rng.gen_bool(0.3) {
        let query: Vec<(String, String)> = fields(rng);
        let encoded = serde_urlencoded::to_string(&query).unwrap_or_default();
        path = format!("{path}?{encoded}");
    } else if rng.gen_bool(0.05) {
        path.push_str("?%zz=%&&==&next=%2F%2Fevil.example");
    }
    path
}

/// What one request was, to print when it fails.
struct Sent {
    worker: u64,
    index: usize,
    caller: &'static str,
    method: Method,
    path: String,
    body: String,
}

impl std::fmt::Display for Sent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "#{} (worker {}) {} {} {} with {}",
            self.index, self.worker, self.caller, self.method, self.path, self.body
        )
    }
}

async fn one_request(
    rng: &mut StdRng,
    app: &TestApp,
    paths: &[String],
    callers: &[(&'static str, Client)],
) -> (Sent, Result<(u16, String), String>) {
    let (caller, client) = callers.choose(rng).unwrap();
    let method = match rng.gen_range(0..20) {
        0..=10 => Method::POST,
        11..=14 => Method::GET,
        15 => Method::PUT,
        16 => Method::DELETE,
        17 => Method::PATCH,
        18 => Method::HEAD,
        _ => Method::OPTIONS,
    };
    let path = path(rng, paths);
    let url = format!("{}{}", app.address, path);
    let mut request = client.request(method.clone(), &url);
    let body_kind;
    match rng.gen_range(0..12) {
        0..=4 => {
            let form = fields(rng);
            body_kind = format!("form {form:?}");
            request = request.form(&form);
        }
        5 | 6 => {
            let body = random_json(rng, 0);
            body_kind = format!("json {body}");
            request = request.json(&body);
        }
        7 => {
            let bytes: Vec<u8> = (0..rng.gen_range(0..300)).map(|_| rng.gen()).collect();
            body_kind = format!("raw form bytes {bytes:?}");
            request = request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(bytes);
        }
        8 => {
            let kind = [
                "text/plain",
                "multipart/form-data",
                "application/cbor",
                "application/json; charset=utf-16",
                "application/x-www-form-urlencoded; charset=latin1",
                "*/*",
                "",
            ]
            .choose(rng)
            .unwrap()
            .to_string();
            let text = random_text(rng, 200);
            body_kind = format!("{kind:?} body {text:?}");
            request = request.header("content-type", kind).body(text);
        }
        9 => {
            body_kind = "json {not json".into();
            request = request
                .header("content-type", "application/json")
                .body("{\"email\": [1, {\"x\": ");
        }
        10 if rng.gen_bool(0.2) => {
            body_kind = "oversized form".into();
            request = request.form(&[("password", "y".repeat(70 * 1024))]);
        }
        _ => body_kind = "no body".into(),
    }
    if rng.gen_bool(0.05) {
        let junk = format!(
            "telehealth_session={}",
            random_text(rng, 60).replace([';', '\0'], "")
        );
        if let Ok(value) = reqwest::header::HeaderValue::from_str(&junk) {
            request = request.header("cookie", value);
        }
    }
    match rng.gen_range(0..25) {
        0 => request = request.header("origin", "https://evil.example"),
        1 => request = request.header("sec-fetch-site", "cross-site"),
        2 => request = request.header("x-forwarded-for", "203.0.113.9, nonsense"),
        3 => request = request.header("accept", "application/json"),
        _ => {}
    }
    let sent = Sent {
        worker: 0,
        index: 0,
        caller,
        method,
        path,
        body: body_kind.chars().take(300).collect(),
    };
    let answer = match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            // The live stream (`GET /api/events`) answers a session with a stream that stays
            // open until the session ends: its status is the answer, its body never ends.
            let streams = response
                .headers()
                .get("content-type")
                .is_some_and(|t| t.as_bytes().starts_with(b"text/event-stream"));
            let text = if streams {
                String::new()
            } else {
                response.text().await.unwrap_or_default()
            };
            Ok((status, text.chars().take(300).collect()))
        }
        Err(error) => Err(format!("{error:?}")),
    };
    (sent, answer)
}

fn last_lines(logs: &str, n: usize) -> String {
    let lines: Vec<&str> = logs.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.chars().take(600).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn ten_thousand_malformed_requests_get_no_5xx_and_leave_the_app_ready() {
    let requests: usize = std::env::var("FUZZ_REQUESTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_REQUESTS);
    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen());
    let replay = format!(
        "seed {seed}; replay with FUZZ_SEED={seed} FUZZ_REQUESTS={requests} cargo test \
         --features ssr --test integration fuzz::"
    );
    eprintln!("fuzz: {requests} requests, {replay}");
    let app = spawn_app_with(&[
        // Zoom is a closed local port: calls fail at once instead of reaching out.
        ("ZOOM_OAUTH_BASE_URL", "http://127.0.0.1:9"),
        ("ZOOM_API_BASE_URL", "http://127.0.0.1:9/v2"),
        ("ZOOM_REQUEST_TIMEOUT_SECS", "2"),
        ("MEETING_JOB_LEASE_SECS", "15"),
        // Enough budget that logins keep reaching the password check.
        ("LOGIN_MAX_FAILURES_PER_ADDRESS", "100000"),
        ("LOGIN_MAX_FAILURES_PER_ACCOUNT", "100000"),
    ])
    .await;
    let paths = documented_paths();
    assert!(paths.len() >= 30, "docs/API.md lists {} paths", paths.len());
    // A fresh connection for every request: the server may close a connection after a
    // malformed request, and a pooled client would race that close with its next request
    // (and report the lost race as a failure of the request it had nothing to do with).
    let fresh_client = || {
        Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0)
            .build()
            .unwrap()
    };
    let mut callers: Vec<(&'static str, Client)> = vec![("anonymous", fresh_client())];
    for (name, who) in [
        ("admin", ADMIN),
        ("receptionist", RECEPTIONIST),
        ("doctor", DOCTOR),
        ("patient", PATIENT),
    ] {
        let client = fresh_client();
        let login = app.login(&client, who.0, who.1).await;
        assert_eq!(login.status(), 200, "logging in as {name}");
        callers.push((name, client));
    }

    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let statuses: Mutex<std::collections::BTreeMap<u16, usize>> = Default::default();
    let workers = (0..WORKERS).map(|worker| {
        let (app, paths, callers, next, failures, statuses) =
            (&app, &paths, &callers, &next, &failures, &statuses);
        async move {
            let mut rng =
                StdRng::seed_from_u64(seed ^ (worker.wrapping_mul(0x9E37_79B9_7F4A_7C15)));
            loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                if index >= requests {
                    break;
                }
                let (mut sent, answer) = one_request(&mut rng, app, paths, callers).await;
                sent.worker = worker;
                sent.index = index;
                let problem = match &answer {
                    Ok((status, _)) if *status >= 500 => Some(format!("status {status}")),
                    Ok((_, body)) if body.contains("panicked") => Some("panic in body".into()),
                    Ok(_) => None,
                    Err(error) => Some(format!("no answer: {error}")),
                };
                if let Ok((status, _)) = &answer {
                    *statuses.lock().unwrap().entry(*status).or_default() += 1;
                }
                if let Some(problem) = problem {
                    failures
                        .lock()
                        .unwrap()
                        .push(format!("{problem}: {sent} -> {answer:?}"));
                }
            }
        }
    });
    futures::future::join_all(workers).await;
    let elapsed = started.elapsed();
    eprintln!(
        "fuzz: {requests} requests in {elapsed:.1?}; statuses {:?}",
        statuses.lock().unwrap()
    );

    let failures = failures.into_inner().unwrap();
    if !failures.is_empty() {
        let mut app = app;
        let status = app.terminate();
        panic!(
            "{} of {requests} requests failed ({replay}); the app exited with {status:?}; \
             first failures:\n{}\nthe app's last words:\n{}",
            failures.len(),
            failures
                .iter()
                .take(10)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n"),
            last_lines(&app.logs(), 40)
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {requests} requests failed ({replay}); first ones:\n{}\nthe app's last words:\n{}",
        failures.len(),
        failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n"),
        last_lines(&app.logs(), 15)
    );
    let ready = app.page(&app.client(), "/readyz").await;
    assert_eq!(
        ready.status(),
        200,
        "not ready after the campaign ({replay})"
    );
    let health = app.page(&app.client(), "/healthz").await;
    assert_eq!(health.status(), 200, "{replay}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let logs = app.logs();
    let lines: Vec<&str> = logs.lines().collect();
    let panics: Vec<String> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("panicked"))
        .take(3)
        .map(|(i, _)| lines[i.saturating_sub(3)..(i + 3).min(lines.len())].join("\n"))
        .collect();
    assert!(
        panics.is_empty(),
        "the app panicked ({replay}):\n{}",
        panics.join("\n---\n")
    );
}

/// What the campaign found first: a page whose body nobody reads to the end (a `HEAD`, a
/// browser closing the tab mid-page) left its data loaders running on a dropped page, and
/// they panicked. Pages now render to their end whatever the client does.
#[tokio::test]
async fn pages_nobody_reads_to_the_end_do_not_panic_the_app() {
    let app = spawn_app().await;
    let admin = app.logged_in(ADMIN).await;
    let doctor = app.logged_in(DOCTOR).await;
    for (client, path) in [
        (&admin, "/"),
        (&admin, "/visits"),
        (&admin, "/admin/users"),
        (&admin, "/admin/audit"),
        (&admin, "/admin/zoom"),
        (&admin, "/profile"),
        (&doctor, "/zoom"),
        (&doctor, "/admin/users"),
    ] {
        for _ in 0..3 {
            let head = client.head(app.url(path)).send().await.unwrap();
            assert!(head.status().as_u16() < 500, "HEAD {path}");
            // A GET whose body is never read: the connection goes away with it.
            drop(client.get(app.url(path)).send().await.unwrap());
        }
    }
    // The refused role gets the same 403 on HEAD as on GET.
    let head = doctor.head(app.url("/admin/users")).send().await.unwrap();
    assert_eq!(head.status(), 403);
    assert_eq!(app.page(&app.client(), "/readyz").await.status(), 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let logs = app.logs();
    assert!(!logs.contains("panicked"), "{logs}");
    assert!(!logs.contains("app state missing"), "{logs}");
}
