//! Demo mode opens on a living clinic: the demo doctor already connected to the Zoom
//! simulator and a day of visits in every live state (ended, no-show, in progress, a patient
//! waiting, upcoming), so the first screen shows the product working. The current visits are
//! brought to life through the simulator itself (its join page, its status control), so the
//! webhooks the app receives are the real ones, and the doctor's Start admits the waiting
//! patient as it would in Zoom. Runs once per demo database, in the background.

use super::demo::{DEMO_ACCOUNTS, DEMO_ZOOM_CLIENT_ID};
use super::persistence::{now_unix, NewAppointment, Visibility};
use super::video::HostId;
use super::visits::{new_marker, new_visit_id};
use super::AppState;
use crate::domain::{Email, MeetingState, VisitLength, VisitStart};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// The demo doctor's Zoom user at the simulator (`zoom_sim::state`).
const SIM_USER: &str = "zu_ada";

/// `scripts/dev.sh` sets it; the browser tests (demo mode too) start from an empty clinic.
pub const ENABLE_VAR: &str = "DEMO_LIVING_CLINIC";

pub async fn bring_to_life(state: AppState) {
    let wanted = std::env::var(ENABLE_VAR).is_ok_and(|v| v == "true");
    if !state.settings.demo_mode || !wanted {
        return;
    }
    if let Err(error) = run(&state).await {
        tracing::warn!(%error, "the demo clinic could not be brought to life");
    }
}

async fn user_id(state: &AppState, email: &str) -> Result<i64, String> {
    let email = Email::parse(email).map_err(|e| e.0)?;
    state
        .db
        .credentials_by_email(&email)
        .await
        .map_err(|e| e.to_string())?
        .map(|(u, _)| u.id)
        .ok_or_else(|| format!("no demo account {email}"))
}

async fn run(state: &AppState) -> Result<(), String> {
    // Only against the simulator (a loopback Zoom), never a real Zoom account.
    let base = state
        .settings
        .zoom_oauth_base_url
        .trim_end_matches('/')
        .to_owned();
    if !(base.starts_with("http://127.0.0.1") || base.starts_with("http://localhost")) {
        return Ok(());
    }
    let doctor = user_id(state, DEMO_ACCOUNTS[2].email).await?;
    let patient = user_id(state, DEMO_ACCOUNTS[3].email).await?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| e.to_string())?;
    let connected = state
        .db
        .zoom_connection(doctor)
        .await
        .map_err(|e| e.to_string())?
        .is_some();
    if !connected {
        // The simulator may still be starting.
        let mut tries = 0;
        while let Err(error) = connect(state, &http, &base, doctor).await {
            tries += 1;
            if tries >= 30 {
                return Err(error);
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        tracing::info!("demo: the demo doctor is connected to the Zoom simulator");
    }
    let now = now_unix();
    let today = state
        .db
        .appointments(Visibility::DoctorOf(doctor), now - 6 * 3600, 1)
        .await
        .map_err(|e| e.to_string())?;
    if !today.is_empty() {
        return Ok(());
    }
    let minutes = |m: i64| now + m * 60;
    let book = |start: i64| async move {
        let at = DateTime::<Utc>::from_timestamp(start, 0).ok_or("bad time")?;
        let zone = crate::domain::TimeZone::parse("Europe/Berlin").map_err(|e| e.0)?;
        state
            .db
            .create_appointment(NewAppointment {
                public_id: &new_visit_id(),
                doctor_id: doctor,
                patient_id: patient,
                start: VisitStart::from_utc(at, zone),
                length: VisitLength::from_minutes(30).map_err(|e| e.0)?,
                reason: Some("Demo visit"),
                created_by: doctor,
                marker: &new_marker(),
            })
            .await
            .map_err(|e| e.to_string())
    };
    // Over: their meetings are not needed any more (the worker closes them); what Zoom
    // reported about them is recorded as its webhooks would have.
    let ended = book(minutes(-75)).await?;
    state
        .db
        .live_started_or_ended(ended, false, minutes(-74) * 1000)
        .await
        .map_err(|e| e.to_string())?;
    state
        .db
        .live_started_or_ended(ended, true, minutes(-47) * 1000)
        .await
        .map_err(|e| e.to_string())?;
    let _no_show = book(minutes(-45)).await?;
    let in_progress = book(minutes(-10)).await?;
    let waiting = book(minutes(4)).await?;
    let _upcoming = book(minutes(120)).await?;
    state.jobs_wake.notify_one();
    tracing::info!("demo: a day of visits booked for the demo doctor");
    for id in [in_progress, waiting] {
        let Some(join_url) = ready_join_url(state, id).await? else {
            continue;
        };
        if id == in_progress {
            if let Some(meeting) = state
                .db
                .appointment_by_id(id)
                .await
                .map_err(|e| e.to_string())?
                .and_then(|v| v.meeting.zoom_meeting_id)
            {
                http.post(format!("{base}/_sim/meetings/{meeting}/status"))
                    .json(&serde_json::json!({ "status": "started" }))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        // The patient opens the link: the simulator puts them in the waiting room (and, in
        // a started meeting, admits them), and tells the app.
        http.get(join_url.expose_secret())
            .send()
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Waits (bounded) for the worker to make the visit's meeting; its join link.
async fn ready_join_url(state: &AppState, id: i64) -> Result<Option<SecretString>, String> {
    for _ in 0..120 {
        let visit = state
            .db
            .appointment_by_id(id)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(visit) = visit.filter(|v| v.meeting.state == MeetingState::Ready) {
            let Some(sealed) = visit.meeting.join_url_enc else {
                return Ok(None);
            };
            return state
                .keyring
                .open(&sealed, crate::server::crypto::Purpose::MeetingJoinUrl, id)
                .map(Some)
                .map_err(|e| e.to_string());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(None)
}

/// The demo doctor's consent at the simulator, as their browser would give it, then the
/// app's own code exchange.
async fn connect(
    state: &AppState,
    http: &reqwest::Client,
    base: &str,
    doctor: i64,
) -> Result<(), String> {
    let verifier = format!("demo-{}", new_marker());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let redirect_uri = state.settings.oauth_redirect_url();
    let answer = http
        .post(format!("{base}/oauth/authorize"))
        .form(&[
            ("client_id", DEMO_ZOOM_CLIENT_ID),
            ("redirect_uri", redirect_uri.as_str()),
            ("state", "demo"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("user", SIM_USER),
            ("decision", "allow"),
        ])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let location = answer
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .ok_or("the simulator gave no code")?;
    let code = reqwest::Url::parse(location)
        .map_err(|e| e.to_string())?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or("the simulator gave no code")?;
    state
        .video
        .complete_connection(
            HostId(doctor),
            &code,
            &SecretString::from(verifier),
            &redirect_uri,
        )
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}
