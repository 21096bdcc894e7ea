//! The hot paths as a share of a bare axum handler, measured in one run that alternates them
//! (`scripts/bench.sh [--postgres]`; `BENCH_SECONDS` per measurement, default 10).
//!
//! It starts the Zoom simulator, a fresh install of the release-built app (SQLite, or
//! PostgreSQL when `TEST_DATABASE=postgres` and `TEST_POSTGRES_URL` are set, as the bench
//! script does for `--postgres`), seeds ten patients with 50 visits each (so the receptionist
//! sees 500), restarts the app on that existing database (timing start → `/readyz` 200), and
//! starts the reference: this same bench binary re-executed as a bare axum "hello" server.
//! A second instance with the response cache off (`RESPONSE_CACHE=false`) gives what a list or
//! page costs when it is rendered afresh; the first instance answers a session's repeats
//! within a second from memory, as it does in production.
//! Then, for 3 rounds, each path under `wrk` at 64, 8 and 1 connections; medians are printed.
//! `BENCH_ONLY=<text>` measures only the paths whose name contains it (beside the reference),
//! without the logins: for profiling one path (the two instances' pids are printed).
//! A benchmark, not a test: it prints figures and asserts nothing about time, only that no
//! request failed.

#[path = "../tests/integration/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "../tests/integration/sim.rs"]
#[allow(dead_code)]
mod sim;

use futures::stream::{self, StreamExt};
use helpers::{spawn_app_with, TestApp, ADMIN, DOCTOR, PATIENT, RECEPTIONIST};
use reqwest::Client;
use serde_json::Value;
use sim::{connect_doctor, Sim};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ROUNDS: usize = 3;
const CONNECTIONS: [usize; 3] = [64, 8, 1];
const PATIENTS: usize = 10;
const VISITS_EACH: usize = 50;
const BENCH_PASSWORD: &str = "bench-patient-password";

fn main() {
    if std::env::args().any(|a| a == "--reference-server") {
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(reference_server());
        return;
    }
    tokio::runtime::Runtime::new().unwrap().block_on(bench());
}

/// The reference: the smallest axum server, on the same listener as the app's.
async fn reference_server() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("listening on http://{}", listener.local_addr().unwrap());
    let router = axum::Router::new().route("/", axum::routing::get(|| async { "Hello, World!" }));
    axum::serve(telehealth::server::startup::without_delay(listener), router)
        .await
        .unwrap();
}

/// The release app on `database_url`, talking to `sim`, at the default log level.
fn app_command(database_url: &str, sim: &Sim, extra: &[(&str, &str)]) -> Command {
    let mut command = helpers::app_command(database_url);
    for (key, value) in sim.env() {
        command.env(key, value);
    }
    for (key, value) in extra {
        command.env(key, value);
    }
    // The allocators' own settings reach the app, for trying them under this load.
    for (key, value) in std::env::vars() {
        if key.starts_with("MIMALLOC_") || key.starts_with("MALLOC_") {
            command.env(key, value);
        }
    }
    command
}

/// Starts `command` and waits for its "listening on <url>" line.
fn spawn_listening(mut command: Command) -> (Child, String) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .spawn()
        .expect("start a server");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("listening on ") {
                let _ = tx.send(url.trim().to_owned());
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the server announces its address");
    (child, url)
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn peak_rss_mb(pid: u32) -> f64 {
    rss_mb(pid, "VmHWM:")
}

fn rss_mb(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

async fn user_id(app: &TestApp, admin: &Client, email: &str) -> String {
    let users: Value = app
        .call(admin, "/api/admin/users/list", &[])
        .await
        .json()
        .await
        .unwrap();
    users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == email)
        .unwrap()["id"]
        .as_i64()
        .unwrap()
        .to_string()
}

/// The install with ten patients of 50 visits each, meetings ready. Returns the database URL,
/// the data directory and one of the first patient's visit ids.
async fn seed(sim: &Sim) -> (String, helpers::TempDir, String) {
    let env = sim.env();
    let mut pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    pairs.push(("RUST_LOG", "warn"));
    pairs.push(("MEETING_WORKERS", "8"));
    let app = spawn_app_with(&pairs).await;
    sim.allow_bursts().await;
    // One doctor holds all 500 visits; Zoom's 100 creates per user and day would stop at 100.
    sim.control(
        "config",
        serde_json::json!({ "daily_meeting_limit": 10_000 }),
    )
    .await;
    let admin = app.logged_in(ADMIN).await;
    let receptionist = app.logged_in(RECEPTIONIST).await;
    let doctor = app.logged_in(DOCTOR).await;
    connect_doctor(&app, sim, &doctor).await;
    let doctor_id = user_id(&app, &admin, DOCTOR.0).await;
    let mut patients = vec![user_id(&app, &admin, PATIENT.0).await];
    for i in 1..PATIENTS {
        let email = format!("patient{i}@bench.example");
        let response = app
            .call(
                &admin,
                "/api/admin/users/create",
                &[
                    ("email", email.as_str()),
                    ("role", "patient"),
                    ("password", BENCH_PASSWORD),
                    ("time_zone", "Europe/Paris"),
                ],
            )
            .await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        patients.push(user_id(&app, &admin, &email).await);
    }
    let started = Instant::now();
    let bookings: Vec<(usize, String)> = (0..PATIENTS * VISITS_EACH)
        .map(|i| (i, patients[i % PATIENTS].clone()))
        .collect();
    let ids: Vec<(String, String)> = stream::iter(bookings)
        .map(|(i, patient_id)| {
            let (app, receptionist, doctor_id) = (&app, &receptionist, &doctor_id);
            async move {
                let start = (chrono::Utc::now() + chrono::Duration::minutes(10 + i as i64))
                    .format("%Y-%m-%dT%H:%M")
                    .to_string();
                let response = app
                    .call(
                        receptionist,
                        "/api/visits/book",
                        &[
                            ("doctor_id", doctor_id.as_str()),
                            ("patient_id", patient_id.as_str()),
                            ("start", &start),
                            ("zone", "UTC"),
                            ("duration", "30"),
                        ],
                    )
                    .await;
                let status = response.status();
                let body: Value = response.json().await.unwrap();
                assert_eq!(status, 200, "booking: {body}");
                (patient_id, body["id"].as_str().unwrap().to_owned())
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let join_id = ids
        .iter()
        .find(|(p, _)| *p == patients[0])
        .map(|(_, id)| id.clone())
        .unwrap();
    // The meetings are made in the background; measuring while they are would measure them.
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let list: Value = app
            .call(&admin, "/api/visits/list", &[])
            .await
            .json()
            .await
            .unwrap();
        let ready = list
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["meeting"]["state"] == "ready")
            .count();
        if ready >= ids.len() || Instant::now() > deadline {
            println!(
                "seeded {} visits ({} meetings ready) in {:.1} s",
                ids.len(),
                ready,
                started.elapsed().as_secs_f64()
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let database_url = app.database_url.clone();
    let dir = app.stop();
    (database_url, dir, join_id)
}

struct Target {
    name: &'static str,
    method: &'static str,
    url: String,
    cookie: String,
    body: String,
}

#[derive(Clone, Copy, Default)]
struct Measure {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

fn wrk_ms(value: &str) -> f64 {
    let (number, unit) = value
        .find(|c: char| c.is_ascii_alphabetic())
        .map(|i| value.split_at(i))
        .unwrap_or((value, "ms"));
    let number: f64 = number.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => number / 1000.0,
        "ms" => number,
        "s" => number * 1000.0,
        "m" => number * 60_000.0,
        _ => f64::NAN,
    }
}

fn wrk(target: &Target, connections: usize, seconds: u64) -> Measure {
    let script = std::env::temp_dir().join(format!("telehealth-bench-{}.lua", std::process::id()));
    let mut lua = format!("wrk.method = \"{}\"\n", target.method);
    if !target.cookie.is_empty() {
        lua.push_str(&format!(
            "wrk.headers[\"Cookie\"] = \"{}\"\n",
            target.cookie
        ));
    }
    if target.method == "POST" {
        lua.push_str("wrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\"\n");
        lua.push_str(&format!("wrk.body = \"{}\"\n", target.body));
    }
    std::fs::write(&script, lua).unwrap();
    let threads = connections.min(2);
    let output = Command::new("wrk")
        .args([
            format!("-t{threads}"),
            format!("-c{connections}"),
            format!("-d{seconds}s"),
            "--latency".into(),
            "-s".into(),
        ])
        .arg(&script)
        .arg(&target.url)
        .output()
        .expect("wrk is installed (scripts/bench.sh installs it)");
    let _ = std::fs::remove_file(&script);
    let text = String::from_utf8_lossy(&output.stdout);
    let last_word = |label: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(label))
            .and_then(|l| l.split_whitespace().last().map(str::to_owned))
            .unwrap_or_default()
    };
    let non_2xx: u64 = last_word("Non-2xx").parse().unwrap_or(0);
    let socket: u64 = text
        .lines()
        .find(|l| l.trim_start().starts_with("Socket errors:"))
        .map(|l| {
            l.split(',')
                .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    Measure {
        rps: last_word("Requests/sec:").parse().unwrap_or(f64::NAN),
        p50_ms: wrk_ms(&last_word("50%")),
        p99_ms: wrk_ms(&last_word("99%")),
        errors: non_2xx + socket,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

async fn session_cookie(base: &str, email: &str, password: &str) -> String {
    let response = Client::new()
        .post(format!("{base}/api/auth/login"))
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "login as {email}");
    helpers::session_cookie(&response).expect("a session cookie")
}

async fn bench() {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let backend = if helpers::using_postgres() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let sim = Sim::start();
    let (database_url, _dir, join_id) = seed(&sim).await;

    // The app on the existing database, started as in production (default log level).
    let started = Instant::now();
    let (app, base) = spawn_listening(app_command(&database_url, &sim, &[]));
    let app = Killed(app);
    let probe = Client::new();
    loop {
        if let Ok(r) = probe.get(format!("{base}/readyz")).send().await {
            if r.status() == 200 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let ready_ms = started.elapsed().as_secs_f64() * 1000.0;

    // A second instance on the same database with the response cache off: what a render
    // costs when it cannot be reused (every list and page a session has not just seen).
    let (uncached, uncached_base) = spawn_listening(app_command(
        &database_url,
        &sim,
        &[("RESPONSE_CACHE", "false")],
    ));
    let uncached = Killed(uncached);

    let mut command = Command::new(std::env::current_exe().unwrap());
    command.arg("--reference-server");
    let (reference, reference_url) = spawn_listening(command);
    let reference = Killed(reference);

    let patient = session_cookie(&base, PATIENT.0, PATIENT.1).await;
    let receptionist = session_cookie(&base, RECEPTIONIST.0, RECEPTIONIST.1).await;
    let get = |name, url: String, cookie: &str| Target {
        name,
        method: "GET",
        url,
        cookie: cookie.to_owned(),
        body: String::new(),
    };
    let post = |name, url: String, cookie: &str| Target {
        name,
        method: "POST",
        url,
        cookie: cookie.to_owned(),
        body: String::new(),
    };
    let targets = [
        get("bare axum `/` (reference)", format!("{reference_url}/"), ""),
        get("`GET /healthz`", format!("{base}/healthz"), ""),
        post(
            "`POST /api/auth/me`",
            format!("{base}/api/auth/me"),
            &patient,
        ),
        post(
            "`POST /api/visits/list` (patient, 50)",
            format!("{base}/api/visits/list"),
            &patient,
        ),
        post(
            "`POST /api/visits/list` (receptionist, 500)",
            format!("{base}/api/visits/list"),
            &receptionist,
        ),
        get(
            "`GET /visits/{id}` (join page)",
            format!("{base}/visits/{join_id}"),
            &patient,
        ),
        post(
            "list (patient, 50), cache off",
            format!("{uncached_base}/api/visits/list"),
            &patient,
        ),
        post(
            "list (receptionist, 500), cache off",
            format!("{uncached_base}/api/visits/list"),
            &receptionist,
        ),
        get(
            "join page, cache off",
            format!("{uncached_base}/visits/{join_id}"),
            &patient,
        ),
    ];
    let only = std::env::var("BENCH_ONLY").ok().filter(|s| !s.is_empty());
    let targets: Vec<Target> = targets
        .into_iter()
        .enumerate()
        .filter(|(i, t)| *i == 0 || only.as_ref().is_none_or(|o| t.name.contains(o.as_str())))
        .map(|(_, t)| t)
        .collect();
    eprintln!(
        "app pid {}, cache-off instance pid {}",
        app.0.id(),
        uncached.0.id()
    );
    // Logins are bound by argon2 (deliberately slow): measured apart, at two connections.
    let login = Target {
        name: "`POST /api/auth/login` (argon2)",
        method: "POST",
        url: format!("{base}/api/auth/login"),
        cookie: String::new(),
        body: format!(
            "email={}&password={}",
            PATIENT.0.replace('@', "%40"),
            PATIENT.1
        ),
    };

    let mut results = vec![vec![Vec::<Measure>::new(); CONNECTIONS.len()]; targets.len()];
    // The peak under the hot paths alone: the high-water mark starts again from the current
    // size (Linux `clear_refs` 5), and the logins (argon2 takes 19 MiB per hash) come after.
    let idle_rss = rss_mb(app.0.id(), "VmRSS:");
    let _ = std::fs::write(format!("/proc/{}/clear_refs", app.0.id()), "5");
    for round in 1..=ROUNDS {
        eprintln!("round {round} of {ROUNDS} ({seconds} s per measurement)");
        for (c, &connections) in CONNECTIONS.iter().enumerate() {
            for (t, target) in targets.iter().enumerate() {
                results[t][c].push(wrk(target, connections, seconds));
            }
        }
    }
    let app_rss = peak_rss_mb(app.0.id());
    let reference_rss = peak_rss_mb(reference.0.id());
    let logins: Vec<Measure> = if only.is_some() {
        Vec::new()
    } else {
        (0..ROUNDS).map(|_| wrk(&login, 2, seconds)).collect()
    };
    let login_rss = peak_rss_mb(app.0.id());

    let summary = |runs: &[Measure]| Measure {
        rps: median(runs.iter().map(|m| m.rps).collect()),
        p50_ms: median(runs.iter().map(|m| m.p50_ms).collect()),
        p99_ms: median(runs.iter().map(|m| m.p99_ms).collect()),
        errors: runs.iter().map(|m| m.errors).sum(),
    };
    let reference_rps = summary(&results[0][0]).rps;
    println!(
        "\n{backend}, {} cores, wrk, {ROUNDS} rounds of {seconds} s, medians; share of the reference at 64 connections\n",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    println!("| path | req/s (64 conn.) | share of reference | p50 | p99 | errors | p50 at 1 conn. | p50 at 8 conn. |");
    println!("|---|---|---|---|---|---|---|---|");
    for (t, target) in targets.iter().enumerate() {
        let at64 = summary(&results[t][0]);
        let at8 = summary(&results[t][1]);
        let at1 = summary(&results[t][2]);
        println!(
            "| {} | {:.0} | {:.1}% | {:.2} ms | {:.2} ms | {} | {:.2} ms | {:.2} ms |",
            target.name,
            at64.rps,
            100.0 * at64.rps / reference_rps,
            at64.p50_ms,
            at64.p99_ms,
            at64.errors + at8.errors + at1.errors,
            at1.p50_ms,
            at8.p50_ms,
        );
    }
    if !logins.is_empty() {
        let logged_in = summary(&logins);
        println!(
            "\n{}, 2 connections: {:.1} req/s, p50 {:.1} ms, p99 {:.1} ms, {} errors",
            login.name, logged_in.rps, logged_in.p50_ms, logged_in.p99_ms, logged_in.errors
        );
    }
    println!(
        "app RSS: {idle_rss:.1} MB before the load, peak {app_rss:.1} MB under the hot paths \
         (reference: {reference_rss:.1} MB), peak {login_rss:.1} MB with the logins; \
         start to /readyz 200 on the existing database: {ready_ms:.0} ms"
    );
    // The one assertion: speed bought with failed requests is no speed.
    let failed: u64 = results
        .iter()
        .flatten()
        .flatten()
        .chain(logins.iter())
        .map(|m| m.errors)
        .sum();
    assert_eq!(failed, 0, "every request of the benchmark must succeed");
}
