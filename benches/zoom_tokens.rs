//! `cargo bench --features ssr --bench zoom_tokens [-- N]`: measures, against the Zoom simulator
//! on loopback, (1) how many refreshes reach Zoom when N concurrent calls find the access token
//! expired, and (2) the latency the app's Zoom path adds over the simulator's own answer.
//! A benchmark, not a test: it prints figures and asserts nothing about time.

#[path = "../tests/integration/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "../tests/integration/sim.rs"]
#[allow(dead_code)]
mod sim;

use futures::future::join_all;
use helpers::{spawn_app_with, DOCTOR};
use serde_json::json;
use sim::{connect_doctor, Sim};
use std::time::{Duration, Instant};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200);
    let sim = Sim::start();
    let env = sim.env();
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = spawn_app_with(&pairs).await;
    let doctor = app.logged_in(DOCTOR).await;
    connect_doctor(&app, &sim, &doctor).await;
    // Measure the app, not the plan's per-second limit (Pro: 30/s).
    sim.allow_bursts().await;

    // 1. Refreshes per N concurrent calls with an expired token.
    for round in 1..=3 {
        let before = sim.counter("refreshes").await;
        sim.control("expire-access-tokens", json!({})).await;
        let started = Instant::now();
        let results = join_all((0..n).map(|_| app.call(&doctor, "/api/zoom/check", &[]))).await;
        let ok = results.iter().filter(|r| r.status() == 200).count();
        let refreshes = sim.counter("refreshes").await - before;
        println!(
            "round {round}: {n} concurrent calls with an expired token -> {ok} succeeded, {refreshes} refresh(es) at Zoom, {:.0} ms",
            started.elapsed().as_secs_f64() * 1000.0
        );
    }

    // 2. Latency added by the app's Zoom path (session, guard, token from the database,
    //    decrypt, HTTP to Zoom, JSON) over the simulator answering GET /users/me directly.
    let token = sim
        .issued_secrets_of("access_tokens")
        .await
        .pop()
        .expect("an access token");
    let direct_client = reqwest::Client::new();
    let samples = 300;
    let mut direct = Vec::with_capacity(samples);
    let mut through_app = Vec::with_capacity(samples);
    for _ in 0..samples {
        let t = Instant::now();
        let r = direct_client
            .get(format!("{}/v2/users/me", sim.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        direct.push(t.elapsed());
        let t = Instant::now();
        let r = app.call(&doctor, "/api/zoom/check", &[]).await;
        assert_eq!(r.status(), 200);
        through_app.push(t.elapsed());
    }
    direct.sort();
    through_app.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "GET /users/me at the simulator: p50 {:.2} ms, p99 {:.2} ms",
        ms(percentile(&direct, 0.5)),
        ms(percentile(&direct, 0.99))
    );
    println!(
        "POST /api/zoom/check through the app: p50 {:.2} ms, p99 {:.2} ms (adds p50 {:.2} ms)",
        ms(percentile(&through_app, 0.5)),
        ms(percentile(&through_app, 0.99)),
        ms(percentile(&through_app, 0.5)) - ms(percentile(&direct, 0.5))
    );
}
