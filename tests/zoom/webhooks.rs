//! The simulator's webhooks against a bare receiver: signed as Zoom signs, `url_validation`
//! when the endpoint is set, retried on failure on Zoom's schedule (compressed), and the
//! events people cause in Zoom (joining, starting, deauthorizing).

use crate::{meeting_body, start};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &str = "receiver-secret-token";

fn hmac_hex(secret: &str, message: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Default)]
struct Inbox {
    /// (event, whether the signature was right, timestamp header)
    received: Vec<(Value, bool, i64)>,
    /// Answer this many deliveries (not validations) with 500 first.
    fail_first: usize,
    /// Answer url_validation wrongly.
    wrong_token: bool,
}

type Shared = Arc<Mutex<Inbox>>;

async fn receive(State(inbox): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let ts = headers["x-zm-request-timestamp"]
        .to_str()
        .unwrap()
        .to_owned();
    let mut message = format!("v0:{ts}:").into_bytes();
    message.extend_from_slice(&body);
    let signed =
        headers["x-zm-signature"].to_str().unwrap() == format!("v0={}", hmac_hex(SECRET, &message));
    let event: Value = serde_json::from_slice(&body).unwrap();
    let mut inbox = inbox.lock().unwrap();
    if event["event"] == "endpoint.url_validation" {
        let plain = event["payload"]["plainToken"].as_str().unwrap();
        let token = if inbox.wrong_token {
            "0".repeat(64)
        } else {
            hmac_hex(SECRET, plain.as_bytes())
        };
        return axum::Json(json!({ "plainToken": plain, "encryptedToken": token })).into_response();
    }
    inbox.received.push((event, signed, ts.parse().unwrap()));
    if inbox.fail_first > 0 {
        inbox.fail_first -= 1;
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    StatusCode::OK.into_response()
}

async fn receiver(inbox: Shared) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(inbox);
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

async fn configure(sim: &crate::Sim, url: &str) -> Value {
    sim.http
        .post(format!("{}/_sim/webhooks", sim.url))
        .json(&json!({ "url": url, "secret_token": SECRET, "retry_scale": 0.001 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let started = std::time::Instant::now();
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A meeting of zu_ada's; its id and join URL.
async fn meeting(sim: &crate::Sim) -> (i64, String, String) {
    let (token, _) = sim.user_tokens("zu_ada").await;
    let (status, created) = sim
        .api(
            reqwest::Method::POST,
            "/users/me/meetings",
            &token,
            Some(meeting_body("Abc12345")),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    (
        created["id"].as_i64().unwrap(),
        created["join_url"].as_str().unwrap().to_owned(),
        token,
    )
}

#[tokio::test]
async fn setting_the_endpoint_validates_it_and_a_wrong_answer_is_reported() {
    let sim = start().await;
    let inbox = Shared::default();
    let url = receiver(inbox.clone()).await;
    assert_eq!(configure(&sim, &url).await["validated"], true);
    inbox.lock().unwrap().wrong_token = true;
    assert_eq!(configure(&sim, &url).await["validated"], false);
}

#[tokio::test]
async fn a_patient_joining_and_the_host_starting_send_signed_events_as_zoom_does() {
    let sim = start().await;
    let inbox = Shared::default();
    let url = receiver(inbox.clone()).await;
    configure(&sim, &url).await;
    let (id, join_url, _) = meeting(&sim).await;
    assert_eq!(reqwest::get(&join_url).await.unwrap().status(), 200);
    let (event, signed, ts) = wait_for("the waiting-room event", || {
        inbox.lock().unwrap().received.first().cloned()
    })
    .await;
    assert!(signed, "signed with the endpoint's secret token");
    assert!(
        (ts - chrono::Utc::now().timestamp()).abs() < 60,
        "epoch seconds"
    );
    assert_eq!(event["event"], "meeting.participant_joined_waiting_room");
    assert_eq!(event["payload"]["object"]["id"], id.to_string(), "a string");
    assert!(
        event["event_ts"].as_i64().unwrap() > 1_000_000_000_000,
        "milliseconds"
    );
    assert!(event["payload"]["object"]["participant"]["date_time"].is_string());

    sim.control(
        &format!("meetings/{id}/status"),
        json!({ "status": "ended" }),
    )
    .await;
    let names = wait_for("the end", || {
        let inbox = inbox.lock().unwrap();
        let names: Vec<String> = inbox
            .received
            .iter()
            .map(|(e, _, _)| e["event"].as_str().unwrap().to_owned())
            .collect();
        names.contains(&"meeting.ended".to_owned()).then_some(names)
    })
    .await;
    assert_eq!(
        names,
        ["meeting.participant_joined_waiting_room", "meeting.ended"]
    );
}

#[tokio::test]
async fn a_failed_delivery_is_retried_on_zooms_schedule_until_it_is_accepted() {
    let sim = start().await;
    let inbox = Shared::default();
    let url = receiver(inbox.clone()).await;
    configure(&sim, &url).await;
    inbox.lock().unwrap().fail_first = 2;
    let (id, _, _) = meeting(&sim).await;
    sim.control(&format!("meetings/{id}/delete"), json!({}))
        .await;
    wait_for("three attempts", || {
        (inbox.lock().unwrap().received.len() == 3).then_some(())
    })
    .await;
    let counters = sim.counters().await;
    assert_eq!(counters["webhooks_failed"], 2);
    assert_eq!(counters["webhooks_retried"], 2);
    assert_eq!(counters["webhooks_delivered"], 1);
    let received = inbox.lock().unwrap().received.clone();
    assert!(received.iter().all(|(e, signed, _)| *signed
        && e["event"] == "meeting.deleted"
        && e["payload"]["object"]["id"] == id));
}

#[tokio::test]
async fn deauthorizing_a_user_ends_their_grant_and_sends_app_deauthorized() {
    let sim = start().await;
    let inbox = Shared::default();
    let url = receiver(inbox.clone()).await;
    configure(&sim, &url).await;
    let (_, _, token) = meeting(&sim).await;
    sim.control("deauthorize", json!({ "user": "doctor@demo.clinic" }))
        .await;
    let (event, signed, _) = wait_for("app_deauthorized", || {
        inbox.lock().unwrap().received.first().cloned()
    })
    .await;
    assert!(signed);
    assert_eq!(event["event"], "app_deauthorized");
    assert_eq!(event["payload"]["user_id"], "zu_ada");
    let (status, _) = sim
        .api(reqwest::Method::GET, "/users/me", &token, None)
        .await;
    assert_eq!(status, 401, "the grant's token no longer works");
}
