//! `cargo bench --features ssr --bench sse` (see scripts/bench_sse.sh): the push stream under
//! load, against a release build on loopback. SSE_STREAMS streams (default 1000) stay open on
//! one instance, all of a receptionist (who sees every visit, so every event goes to every
//! stream); SSE_RATE visit changes per second (default 100, reschedules through the API
//! spread over 100 visits) for SSE_SECONDS (default 30). Checks that every change reached
//! every stream, and reports the p50/p99/max delivery latency (from sending the change to
//! its event arriving at a stream) and the server's resident memory.
//! A benchmark, not a test: the only assertion is that no event was lost.

#[path = "../tests/integration/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use helpers::{spawn_app_with, TestApp, ADMIN, PATIENT, RECEPTIONIST};
use reqwest::Client;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const VISITS: usize = 100;

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn start_in(minutes: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::minutes(minutes))
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

async fn id_of(app: &TestApp, admin: &Client, email: &str) -> i64 {
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

/// Arrival times of each visit's events at one stream.
type Arrivals = HashMap<String, Vec<Instant>>;

async fn read_stream(
    app: &TestApp,
    client: Client,
    opened: Arc<tokio::sync::Barrier>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Arrivals {
    let mut response = client.get(app.url("/api/events")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let mut arrivals = Arrivals::new();
    let mut buffer = String::new();
    let mut waiting = Some(opened);
    loop {
        let chunk = tokio::select! {
            _ = stop.changed() => break,
            chunk = response.chunk() => chunk,
        };
        let Ok(Some(chunk)) = chunk else { break };
        let at = Instant::now();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            if block.contains("event: session") {
                if let Some(barrier) = waiting.take() {
                    barrier.wait().await;
                }
            }
            if !block.contains("event: visit") {
                continue;
            }
            // `data: {"id":"…"}`, read without a JSON parser: the load generator shares the
            // machine with the server and must not be the bottleneck.
            if let Some(id) = block
                .split("\"id\":\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
            {
                let id = id.to_owned();
                arrivals.entry(id).or_default().push(at);
            }
        }
    }
    arrivals
}

#[tokio::main]
async fn main() {
    let streams = knob("SSE_STREAMS", 1000) as usize;
    let rate = knob("SSE_RATE", 100).max(1);
    let seconds = knob("SSE_SECONDS", 30);
    let app = spawn_app_with(&[
        ("PATIENT_MAX_OPEN_VISITS", "100000"),
        ("PATIENT_MAX_DAILY_CHANGES", "100000000"),
        ("RUST_LOG", "warn"),
    ])
    .await;
    let admin = app.logged_in(ADMIN).await;
    let desk = app.logged_in(RECEPTIONIST).await;
    let doctor_id = id_of(&app, &admin, "doctor@demo.clinic").await;
    let patient_id = id_of(&app, &admin, PATIENT.0).await;
    let (doctor, patient) = (doctor_id.to_string(), patient_id.to_string());
    let mut visits = Vec::new();
    for i in 0..VISITS {
        let start = start_in(120 + i as i64);
        let response = app
            .call(
                &desk,
                "/api/visits/book",
                &[
                    ("doctor_id", doctor.as_str()),
                    ("patient_id", patient.as_str()),
                    ("start", start.as_str()),
                    ("zone", "UTC"),
                    ("duration", "30"),
                ],
            )
            .await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        let body: Value = response.json().await.unwrap();
        visits.push(body["id"].as_str().unwrap().to_owned());
    }
    let rss_before = rss_kib(app.pid());

    // One session, many tabs: every stream is a connection of its own.
    let app = Arc::new(app);
    let opened = Arc::new(tokio::sync::Barrier::new(streams + 1));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let readers: Vec<_> = (0..streams)
        .map(|_| {
            let (app, desk, opened, stopped) =
                (app.clone(), desk.clone(), opened.clone(), stopped.clone());
            tokio::spawn(async move { read_stream(&app, desk, opened, stopped).await })
        })
        .collect();
    opened.wait().await;
    let rss_open = rss_kib(app.pid());

    let sent: Arc<Mutex<Vec<(usize, Instant)>>> = Arc::default();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    let total = (rate * seconds) as usize;
    let mut peak_rss = rss_open;
    let began = Instant::now();
    let mut requests = Vec::with_capacity(total);
    for i in 0..total {
        tick.tick().await;
        let (task_app, desk, sent) = (app.clone(), desk.clone(), sent.clone());
        let visit = i % VISITS;
        let id = visits[visit].clone();
        let start = start_in(200 + (i % 600) as i64);
        requests.push(tokio::spawn(async move {
            let at = Instant::now();
            let response = task_app
                .call(
                    &desk,
                    "/api/visits/reschedule",
                    &[
                        ("id", id.as_str()),
                        ("start", start.as_str()),
                        ("zone", "UTC"),
                        ("duration", "30"),
                    ],
                )
                .await;
            assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
            sent.lock().unwrap().push((visit, at));
        }));
        if i % rate as usize == 0 {
            peak_rss = peak_rss.max(rss_kib(app.pid()));
        }
    }
    for request in requests {
        request.await.unwrap();
    }
    let sending = began.elapsed();
    // Events still in flight get a grace period (deliveries take milliseconds), then the
    // readers stop; anything not there by then counts as lost.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let _ = stop.send(true);
    let mut all = Vec::new();
    for reader in readers {
        all.push(reader.await.unwrap());
    }
    let sent = sent.lock().unwrap().clone();
    let mut latencies = Vec::with_capacity(sent.len() * streams);
    let mut lost = 0usize;
    for arrivals in &all {
        for (visit, at) in &sent {
            let times = arrivals
                .get(&visits[*visit])
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            match times.iter().find(|t| **t >= *at) {
                Some(t) => latencies.push(*t - *at),
                None => lost += 1,
            }
        }
    }
    latencies.sort();
    let p = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "sse: {streams} streams, {} changes in {:.1} s ({:.0}/s), {} deliveries",
        sent.len(),
        sending.as_secs_f64(),
        sent.len() as f64 / sending.as_secs_f64(),
        latencies.len()
    );
    println!(
        "sse: delivery latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; lost {lost}",
        p(0.5).as_secs_f64() * 1e3,
        p(0.99).as_secs_f64() * 1e3,
        p(1.0).as_secs_f64() * 1e3
    );
    println!(
        "sse: server RSS {} MiB idle, {} MiB with the streams open, {} MiB peak while sending",
        rss_before / 1024,
        rss_open / 1024,
        peak_rss / 1024
    );
    assert_eq!(lost, 0, "every change must reach every stream");
}
