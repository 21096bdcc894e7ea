//! The Zoom `VideoProvider` against the simulator, through the trait callers use: meetings are
//! created with the visit's settings, start links are fresh on every request, and Zoom's
//! failures arrive as errors a caller can act on.

use crate::{start, Sim, REDIRECT};
use chrono::{TimeZone, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use std::sync::Arc;
use telehealth::domain::{Email, NewPassword, Role, ZoomConnectionMode};
use telehealth::server::config::DatabaseUrl;
use telehealth::server::crypto::{Keyring, Purpose};
use telehealth::server::persistence::{Db, NewConnection, NewUser};
use telehealth::server::video::zoom::ZoomProvider;
use telehealth::server::video::{HostId, MeetingSpec, ProviderError, VideoProvider};

struct Fixture {
    sim: Sim,
    provider: Arc<dyn VideoProvider>,
    host: HostId,
    _dir: tempdir::Dir,
}

mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A doctor whose Zoom user `zoom_user` is connected, the way the callback would store it.
async fn fixture(zoom_user: &str) -> Fixture {
    let sim = start().await;
    let dir = std::env::temp_dir().join(format!(
        "telehealth-provider-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let url = DatabaseUrl::parse(&format!("sqlite:{}/p.db?mode=rwc", dir.display())).unwrap();
    let db = Db::connect(&url).await.unwrap();
    let keyring = Arc::new(Keyring::demo());
    db.save_zoom_settings(
        ZoomConnectionMode::UserOauth,
        "demo-oauth-client",
        Some(keyring.seal("demo-oauth-secret", Purpose::ZoomClientSecret, 1)),
        None,
        None,
    )
    .await
    .unwrap();
    let hash =
        telehealth::server::auth::password::hash(NewPassword::parse("a doctor password").unwrap())
            .await
            .unwrap();
    let doctor = db
        .create_user(NewUser {
            email: Email::parse("d@clinic.example").unwrap(),
            role: Role::Doctor,
            display_name: None,
            time_zone: None,
            password_hash: hash,
        })
        .await
        .unwrap();

    let code = crate::query(
        &sim.consent(zoom_user, "allow", &crate::challenge(crate::VERIFIER))
            .await,
        "code",
    )
    .unwrap();
    let (status, tokens) = sim
        .token(
            ("demo-oauth-client", "demo-oauth-secret"),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", crate::VERIFIER),
            ],
        )
        .await;
    assert_eq!(status, 200);
    db.upsert_zoom_connection(NewConnection {
        user_id: doctor.id,
        zoom_user_id: zoom_user,
        zoom_email: "whoever@demo.clinic",
        access_token_enc: keyring.seal(
            tokens["access_token"].as_str().unwrap(),
            Purpose::ZoomAccessToken,
            doctor.id,
        ),
        refresh_token_enc: keyring.seal(
            tokens["refresh_token"].as_str().unwrap(),
            Purpose::ZoomRefreshToken,
            doctor.id,
        ),
        access_expires_at: Utc::now().timestamp() + 3600,
        scope: "meeting:write meeting:read user:read",
        settings_fp: None,
    })
    .await
    .unwrap();
    let provider: Arc<dyn VideoProvider> = Arc::new(ZoomProvider::new(
        db,
        keyring,
        &sim.url,
        &format!("{}/v2", sim.url),
        std::time::Duration::from_secs(15),
    ));
    Fixture {
        sim,
        provider,
        host: HostId(doctor.id),
        _dir: tempdir::Dir(dir),
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::SeqCst)
}

fn spec(passcode: &str) -> MeetingSpec {
    MeetingSpec {
        topic: "Video visit with Dr. Lovelace".into(),
        agenda: "telehealth-appointment:42".into(),
        // 09:30 in Berlin on the day clocks change (CEST, UTC+2).
        start: Utc.with_ymd_and_hms(2030, 3, 31, 7, 30, 0).unwrap(),
        duration_minutes: 30,
        time_zone: "Europe/Berlin".into(),
        passcode: SecretString::from(passcode.to_owned()),
        preferences: Default::default(),
    }
}

async fn sim_meetings(sim: &Sim) -> Vec<Value> {
    sim.http
        .get(format!("{}/_sim/meetings", sim.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_meeting_is_created_updated_linked_and_deleted_through_the_trait() {
    let f = fixture("zu_ada").await;
    let created = f
        .provider
        .create_meeting(f.host, &spec("visit1234"))
        .await
        .unwrap();
    let check = f
        .provider
        .check_meeting(
            f.host,
            created.meeting_id,
            &SecretString::from("visit1234".to_owned()),
        )
        .await
        .unwrap();
    assert!(check.broken.is_empty(), "{:?}", check.broken);
    assert!(created
        .join_url
        .expose_secret()
        .contains(&format!("/j/{}?pwd=visit1234", created.meeting_id)));
    let stored = sim_meetings(&f.sim).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0]["start_time"], "2030-03-31T07:30:00Z",
        "Zoom receives the exact instant in UTC"
    );
    assert_eq!(stored[0]["agenda"], "telehealth-appointment:42");
    assert_eq!(stored[0]["host_id"], "zu_ada");

    let first = f
        .provider
        .start_link(f.host, created.meeting_id)
        .await
        .unwrap();
    let second = f
        .provider
        .start_link(f.host, created.meeting_id)
        .await
        .unwrap();
    assert!(first
        .expose_secret()
        .contains(&format!("/s/{}?zak=", created.meeting_id)));
    assert_ne!(
        first.expose_secret(),
        second.expose_secret(),
        "a fresh start link on every request"
    );

    // Zoom ignores a start in the past on an update: a year from now, whatever today is.
    let mut moved = spec("visit1234");
    let next_year = Utc::now().date_naive() + chrono::Days::new(365);
    moved.start = next_year.and_hms_opt(8, 0, 0).unwrap().and_utc();
    f.provider
        .update_meeting(f.host, created.meeting_id, &moved)
        .await
        .unwrap();
    assert_eq!(
        sim_meetings(&f.sim).await[0]["start_time"],
        format!("{next_year}T08:00:00Z")
    );

    f.provider
        .delete_meeting(f.host, created.meeting_id)
        .await
        .unwrap();
    assert_eq!(sim_meetings(&f.sim).await[0]["deleted"], true);
    assert_eq!(
        f.provider.delete_meeting(f.host, created.meeting_id).await,
        Err(ProviderError::NotFound)
    );
    assert_eq!(
        f.provider
            .start_link(f.host, created.meeting_id)
            .await
            .unwrap_err(),
        ProviderError::NotFound
    );
}

#[tokio::test]
async fn zoom_refusals_and_outages_become_errors_callers_can_act_on() {
    let f = fixture("zu_ada").await;
    // zu_ada's policy needs a letter and a number.
    let refused = f
        .provider
        .create_meeting(f.host, &spec("lettersonly"))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, ProviderError::Rejected(ref m) if m.contains("code 300")),
        "{refused:?}"
    );
    assert!(!refused.is_transient());

    f.sim
        .control("config", json!({ "daily_meeting_limit": 1 }))
        .await;
    f.provider
        .create_meeting(f.host, &spec("visit1234"))
        .await
        .unwrap();
    let quota = f
        .provider
        .create_meeting(f.host, &spec("visit1234"))
        .await
        .unwrap_err();
    match quota {
        ProviderError::RateLimited {
            daily: true,
            retry_at: Some(at),
        } => assert_eq!(at % 86_400, 0, "retry at 00:00 UTC"),
        other => panic!("expected the daily limit, got {other:?}"),
    }
    assert!(quota.is_transient());

    f.sim
        .control(
            "faults",
            json!({ "error_rate": 1.0, "error_kinds": ["503"] }),
        )
        .await;
    let outage = f.provider.check_host(f.host).await.unwrap_err();
    assert!(
        matches!(outage, ProviderError::Unavailable(_)),
        "{outage:?}"
    );
    assert!(outage.is_transient());
}

#[tokio::test]
async fn a_marked_meeting_is_found_on_a_later_page_of_the_hosts_meetings() {
    let f = fixture("zu_ada").await;
    f.sim
        .control(
            "config",
            json!({ "daily_meeting_limit": 10_000, "rate_limit_per_sec": 10_000 }),
        )
        .await;
    // 300 other meetings fill the first page the provider asks for (Zoom's largest).
    let (token, _) = f.sim.user_tokens("zu_ada").await;
    for _ in 0..300 {
        let (status, _) = f
            .sim
            .api(
                reqwest::Method::POST,
                "/users/me/meetings",
                &token,
                Some(crate::meeting_body("visit1234")),
            )
            .await;
        assert_eq!(status, 201);
    }
    let made = f
        .provider
        .create_meeting(f.host, &spec("visit1234"))
        .await
        .unwrap();
    let before = f.sim.counters().await["api_requests"].as_i64().unwrap();
    let found = f
        .provider
        .find_meeting(f.host, "telehealth-appointment:42")
        .await
        .unwrap()
        .expect("the marked meeting is found");
    assert_eq!(found.meeting_id, made.meeting_id);
    let lists = f.sim.counters().await["api_requests"].as_i64().unwrap() - before;
    assert_eq!(lists, 2, "two pages were read");
    assert!(f
        .provider
        .find_meeting(f.host, "telehealth-appointment:43")
        .await
        .unwrap()
        .is_none());
}

/// Fields the app sends that are newer than the 2023 spec copy (sources in docs/ZOOM.md).
const DOCUMENTED_NEWER_FIELDS: [&str; 3] = [
    "auto_start_meeting_summary",
    "auto_start_ai_companion_questions",
    "who_will_receive_summary",
];

/// Every key of `value` must be a property of `schema` (or a documented newer field): the
/// spec has no `additionalProperties: false`, so a misspelt setting would pass Zoom silently.
fn unknown_keys(value: &Value, schema: &Value, path: &str, errors: &mut Vec<String>) {
    let (Some(object), Some(props)) = (
        value.as_object(),
        schema.get("properties").and_then(Value::as_object),
    ) else {
        return;
    };
    for (key, sub) in object {
        match props.get(key) {
            Some(prop) => unknown_keys(sub, prop, &format!("{path}.{key}"), errors),
            None if DOCUMENTED_NEWER_FIELDS.contains(&key.as_str()) => {}
            None => errors.push(format!("{path}.{key}: not in Zoom's spec")),
        }
    }
}

#[tokio::test]
async fn every_request_body_the_app_sends_validates_against_zooms_spec() {
    let f = fixture("zu_ada").await;
    let created = f
        .provider
        .create_meeting(f.host, &spec("visit1234"))
        .await
        .unwrap();
    f.provider
        .update_meeting(f.host, created.meeting_id, &spec("visit1234"))
        .await
        .unwrap();
    let sent: Vec<Value> = f
        .sim
        .http
        .get(format!("{}/_sim/requests", f.sim.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sent.len(), 2, "one create, one update: {sent:?}");
    let schemas: Value =
        serde_json::from_str(include_str!("../fixtures/zoom_spec_request_schemas.json")).unwrap();
    for request in &sent {
        let operation = match request["method"].as_str() {
            Some("POST") => "meetingCreate",
            _ => "meetingUpdate",
        };
        let body = &request["body"];
        let mut errors = Vec::new();
        crate::simulator::check(body, &schemas[operation], operation, &mut errors);
        unknown_keys(body, &schemas[operation], operation, &mut errors);
        assert!(errors.is_empty(), "{operation}: {errors:?}\n{body}");
        // The whole privacy contract goes out every time.
        let settings = &body["settings"];
        for (field, wanted) in [
            ("auto_recording", json!("none")),
            ("encryption_type", json!("enhanced_encryption")),
            ("waiting_room", json!(true)),
            ("join_before_host", json!(false)),
            ("meeting_authentication", json!(false)),
            ("approval_type", json!(2)),
            ("auto_start_meeting_summary", json!(false)),
            ("auto_start_ai_companion_questions", json!(false)),
            ("continuous_meeting_chat", json!({ "enable": false })),
            ("use_pmi", json!(false)),
        ] {
            assert_eq!(settings[field], wanted, "{operation} settings.{field}");
        }
    }
    // The checker is not vacuous: a misspelt setting and a wrong enum are caught.
    let mut errors = Vec::new();
    let bad = json!({ "settings": { "auto_recordings": "none", "encryption_type": "e2e" } });
    crate::simulator::check(&bad, &schemas["meetingCreate"], "bad", &mut errors);
    unknown_keys(&bad, &schemas["meetingCreate"], "bad", &mut errors);
    assert_eq!(errors.len(), 2, "{errors:?}");
}

#[tokio::test]
async fn zooms_missing_scope_answer_is_recognised_by_its_code() {
    let f = fixture("zu_ada").await;
    // The app was migrated to granular scopes without the list scope; the next token says so.
    f.sim
        .control(
            "config",
            json!({ "user_scopes": "meeting:write:meeting meeting:read:meeting \
                meeting:update:meeting meeting:delete:meeting user:read:user user:read:settings" }),
        )
        .await;
    f.sim.control("expire-access-tokens", json!({})).await;
    let refused = f
        .provider
        .find_meeting(f.host, "th-marker")
        .await
        .unwrap_err();
    assert_eq!(
        refused,
        ProviderError::MissingScopes(vec!["meeting:read:list_meetings".into()]),
        "Zoom answers 400 with code 4711; the code decides"
    );
    assert!(!refused.is_transient());
}
