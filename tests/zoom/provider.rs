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
        Some(keyring.seal("demo-oauth-secret", Purpose::ZoomClientSecret)),
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
        ),
        refresh_token_enc: keyring.seal(
            tokens["refresh_token"].as_str().unwrap(),
            Purpose::ZoomRefreshToken,
        ),
        access_expires_at: Utc::now().timestamp() + 3600,
        scope: "meeting:write meeting:read user:read",
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
    assert!(created.waiting_room && !created.join_before_host && created.passcode_held);
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

    let mut moved = spec("visit1234");
    moved.start = Utc.with_ymd_and_hms(2030, 4, 2, 8, 0, 0).unwrap();
    f.provider
        .update_meeting(f.host, created.meeting_id, &moved)
        .await
        .unwrap();
    assert_eq!(
        sim_meetings(&f.sim).await[0]["start_time"],
        "2030-04-02T08:00:00Z"
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
