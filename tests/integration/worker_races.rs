//! The meeting worker under the interleavings a review found: a visit changed while a create
//! is still travelling to Zoom, and a meeting Zoom does not show right after creating it.
//! Each ends with exactly one meeting, carrying the visit's latest time.

use crate::fixtures::*;
use serde_json::json;
use std::time::{Duration, Instant};

/// Waits (bounded) until the visit's create has been sent to Zoom: the intent is on record.
async fn wait_until_create_sent(c: &Clinic) {
    let started = Instant::now();
    let sql = "SELECT COUNT(*) AS n FROM meetings WHERE create_attempted = 1";
    while database_count(&c.app, sql).await == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no create sent"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_reschedule_during_an_unclear_create_never_makes_a_second_meeting() {
    // Two app instances' worth of workers on one database: another worker is always free.
    let c = clinic(&[("MEETING_WORKERS", "8")]).await;
    // Creates land 4 s after they are sent; the app gives up on an answer after 2 s.
    c.sim
        .control("faults", json!({ "create_delay_ms": 4000 }))
        .await;
    let id = c.book_in(60).await;
    wait_until_create_sent(&c).await;
    // The visit moves while the create is still on its way: new work is queued.
    let start = local_in(90, "Europe/Berlin");
    let moved = c
        .app
        .reschedule_visit(&c.receptionist, &id, &start, "Europe/Berlin", 30)
        .await;
    assert_eq!(moved.status(), 200);
    c.wait_for_state(std::slice::from_ref(&id), "ready", Duration::from_secs(40))
        .await;
    // Zoom ends with one meeting, moved to the new time.
    let meetings = live_meetings(&c.sim).await;
    assert_eq!(meetings.len(), 1, "{meetings:?}");
    assert_eq!(c.sim.counter("meetings_created").await, 1);
    let view = c.visit(&c.admin, &id).await;
    let starts = chrono::DateTime::from_timestamp(view["starts_at"].as_i64().unwrap(), 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    assert_eq!(meetings[0]["start_time"], starts);
}

#[tokio::test]
async fn a_meeting_zoom_does_not_show_right_after_its_create_is_found_not_made_twice() {
    let c = clinic(&[]).await;
    // Reads of meetings answer 404 for a while, as when Zoom's read side lags its write side.
    c.sim
        .control(
            "faults",
            json!({ "error_rate": 1.0, "error_kinds": ["404"], "paths": "/v2/meetings/" }),
        )
        .await;
    let id = c.book_in(60).await;
    let started = Instant::now();
    while c.sim.counter("faults_injected").await < 1 {
        assert!(started.elapsed() < Duration::from_secs(10), "no read-back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    c.sim.control("faults", json!({})).await;
    c.wait_for_state(std::slice::from_ref(&id), "ready", Duration::from_secs(30))
        .await;
    assert_eq!(live_meetings(&c.sim).await.len(), 1);
    assert_eq!(c.sim.counter("meetings_created").await, 1);
}
