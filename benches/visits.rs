//! `cargo bench --features ssr --bench visits [-- SECONDS]`: against a release build on
//! loopback, with the Zoom simulator at its default per-second rate limit:
//! (1) meetings created per second for a burst of bookings, and
//! (2) requests per second and p50/p99 latency at 64 connections for the appointment list
//!     (`POST /api/visits/list`, a patient with 50 visits) and the join page
//!     (`GET /visits/{id}`, server-rendered HTML).
//! A benchmark, not a test: it prints figures and asserts nothing about time.

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
use std::sync::Arc;
use std::time::{Duration, Instant};

const CONNECTIONS: usize = 64;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn user_id(app: &TestApp, admin: &Client, email: &str) -> i64 {
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
}

async fn ready_count(app: &TestApp, admin: &Client) -> usize {
    let list: Value = app
        .call(admin, "/api/visits/list", &[])
        .await
        .json()
        .await
        .unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .filter(|v| v["meeting"]["state"] == "ready")
        .count()
}

/// The same load from wrk (Debian's `wrk`), when installed: a C load generator leaves more of
/// the two cores to the server than the Rust one below. Prints wrk's own figures.
fn wrk(name: &str, seconds: u64, method: &str, url: &str, cookie: &str) -> bool {
    let script = std::env::temp_dir().join(format!("telehealth-bench-{}.lua", std::process::id()));
    let lua = format!(
        "wrk.method = \"{method}\"\nwrk.headers[\"Cookie\"] = \"{cookie}\"\n\
         wrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\"\n"
    );
    if std::fs::write(&script, lua).is_err() {
        return false;
    }
    let output = std::process::Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{CONNECTIONS}"),
            &format!("-d{seconds}s"),
            "--latency",
            "-s",
        ])
        .arg(&script)
        .arg(url)
        .output();
    let _ = std::fs::remove_file(&script);
    let Ok(output) = output else { return false };
    let text = String::from_utf8_lossy(&output.stdout);
    let pick = |label: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(label))
            .map(|l| l.split_whitespace().last().unwrap_or_default().to_owned())
            .unwrap_or_default()
    };
    let errors = text
        .lines()
        .find(|l| l.contains("Non-2xx"))
        .map(|l| l.trim().to_owned())
        .unwrap_or_else(|| "no non-2xx answers".into());
    println!(
        "{name} [wrk]: {CONNECTIONS} connections, {seconds} s: {} requests/s, p50 {}, p99 {}, {errors}",
        pick("Requests/sec:"),
        pick("50%"),
        pick("99%"),
    );
    output.status.success()
}

/// `CONNECTIONS` workers, each with its own connection, sending `request` for `seconds`.
async fn load(
    name: &str,
    seconds: u64,
    request: Arc<dyn Fn(&Client) -> reqwest::RequestBuilder + Send + Sync>,
    cookie: String,
) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers = (0..CONNECTIONS).map(|_| {
        let request = request.clone();
        let cookie = cookie.clone();
        tokio::spawn(async move {
            let client = Client::builder()
                .pool_max_idle_per_host(1)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let mut samples = Vec::new();
            let mut failures = 0u64;
            while Instant::now() < deadline {
                let started = Instant::now();
                let response = request(&client)
                    .header("cookie", cookie.as_str())
                    .send()
                    .await;
                match response {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        samples.push(started.elapsed());
                    }
                    _ => failures += 1,
                }
            }
            (samples, failures)
        })
    });
    let mut all = Vec::new();
    let mut failures = 0;
    for worker in futures::future::join_all(workers).await {
        let (samples, failed) = worker.unwrap();
        all.extend(samples);
        failures += failed;
    }
    all.sort();
    println!(
        "{name}: {CONNECTIONS} connections, {seconds} s: {:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms, {failures} failed",
        all.len() as f64 / seconds as f64,
        percentile(&all, 0.50).as_secs_f64() * 1000.0,
        percentile(&all, 0.99).as_secs_f64() * 1000.0,
    );
}

#[tokio::main]
async fn main() {
    let seconds: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10);
    let sim = Sim::start();
    let env = sim.env();
    let mut pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    pairs.push(("RUST_LOG", "warn"));
    pairs.push(("MEETING_WORKERS", "8"));
    let app = spawn_app_with(&pairs).await;
    let admin = app.logged_in(ADMIN).await;
    let receptionist = app.logged_in(RECEPTIONIST).await;
    let doctor = app.logged_in(DOCTOR).await;
    connect_doctor(&app, &sim, &doctor).await;
    let doctor_id = user_id(&app, &admin, DOCTOR.0).await.to_string();
    let patient_id = user_id(&app, &admin, PATIENT.0).await.to_string();

    // 1. A burst of bookings against the simulator's default per-second limit.
    let visits = 50;
    let started = Instant::now();
    let ids: Vec<String> = stream::iter(0..visits)
        .map(|i| {
            let (app, receptionist) = (&app, &receptionist);
            let (doctor_id, patient_id) = (&doctor_id, &patient_id);
            async move {
                let start = (chrono::Utc::now() + chrono::Duration::minutes(10 + i))
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
                response.json::<Value>().await.unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let booked = started.elapsed();
    while ready_count(&app, &admin).await < visits as usize {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all_ready = started.elapsed();
    println!(
        "meetings: {visits} booked in {:.2} s, all ready after {:.2} s: {:.1} meetings/s \
         (simulator: {} per-second rate-limit answers)",
        booked.as_secs_f64(),
        all_ready.as_secs_f64(),
        visits as f64 / all_ready.as_secs_f64(),
        sim.counter("rate_limited").await,
    );

    // 2. Read load as the patient, who sees all 50 visits.
    let login = app.client();
    let response = app
        .call(
            &login,
            "/api/auth/login",
            &[("email", PATIENT.0), ("password", PATIENT.1)],
        )
        .await;
    let cookie = helpers::session_cookie(&response).expect("a session cookie");
    let base = app.address.clone();
    let list_url = format!("{base}/api/visits/list");
    let page_url = format!("{base}/visits/{}", ids[0]);
    wrk(
        "appointment list (POST /api/visits/list)",
        seconds,
        "POST",
        &list_url,
        &cookie,
    );
    wrk(
        "join page (GET /visits/{id})",
        seconds,
        "GET",
        &page_url,
        &cookie,
    );
    load(
        "appointment list (POST /api/visits/list)",
        seconds,
        Arc::new(move |c: &Client| {
            c.post(list_url.as_str())
                .header("content-type", "application/x-www-form-urlencoded")
        }),
        cookie.clone(),
    )
    .await;
    load(
        "join page (GET /visits/{id})",
        seconds,
        Arc::new(move |c: &Client| c.get(page_url.as_str())),
        cookie,
    )
    .await;
}
