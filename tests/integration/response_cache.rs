//! Repeated reads answered from memory (`server::response_cache`): kept only within their
//! second, for their session, while nothing changed; audited every time; and a change made
//! through the app counts on the very next request on every instance.

use crate::fixtures::{clinic, login_cookie, pairs};
use crate::helpers::{
    csp_nonce, get_with, post_with, spawn_app_on, using_postgres, TempDir, PATIENT, RECEPTIONIST,
};
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn unix_now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap()
}

/// Waits for the start of the next second, so that what follows has most of one second.
async fn next_second() -> u64 {
    let now = unix_now();
    tokio::time::sleep(Duration::from_millis(
        1000 - u64::from(now.subsec_millis()) + 10,
    ))
    .await;
    unix_now().as_secs()
}

async fn list(app: &crate::helpers::TestApp, cookie: &str) -> Vec<Value> {
    let response = reqwest::Client::new()
        .post(app.url("/api/visits/list"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn duration_of(list: &[Value], id: &str) -> i64 {
    list.iter().find(|v| v["id"] == id).unwrap()["duration_minutes"]
        .as_i64()
        .unwrap()
}

/// The visit page as served, and the nonce of its CSP header.
async fn page(app: &crate::helpers::TestApp, cookie: &str, id: &str) -> (String, String) {
    let response = get_with(app, cookie, &format!("/visits/{id}")).await;
    assert_eq!(response.status(), 200);
    let nonce = csp_nonce(
        response.headers()["content-security-policy"]
            .to_str()
            .unwrap(),
    );
    (response.text().await.unwrap(), nonce)
}

/// The duration the page's own data (Leptos' serialized resources) gives the visit.
fn page_duration(html: &str) -> i64 {
    let at = html
        .find("duration_minutes")
        .expect("the page carries the visit");
    let digits: String = html[at + "duration_minutes".len()..]
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

/// Changes the visit's length in the database itself, as nothing in the app would: no
/// version moves.
async fn change_behind_the_apps_back(database_url: &str, id: &str, minutes: i64) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(database_url).await.unwrap();
    let done = sqlx::query("UPDATE appointments SET duration_minutes = $1 WHERE public_id = $2")
        .bind(minutes)
        .bind(id.to_owned())
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 1);
}

async fn audited(database_url: &str, action: &str, actor: i64) -> i64 {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(database_url).await.unwrap();
    sqlx::query("SELECT COUNT(*) AS n FROM audit_log WHERE action = $1 AND actor_id = $2")
        .bind(action.to_owned())
        .bind(actor)
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get::<i64, _>("n")
}

/// On SQLite a second read within the same second is the first one's answer: a change made
/// behind the app's back (which moves no version) shows only from the next second. On
/// PostgreSQL nothing is kept and it shows at once. Either way every read is audited, and
/// every page gets a nonce of its own.
#[tokio::test]
async fn a_repeat_within_its_second_is_answered_from_memory_and_audited_each_time() {
    let clinic = clinic(&[]).await;
    let (app, patient_id) = (&clinic.app, clinic.patient_id);
    let c = clinic.book_in(60).await;
    let cookie = login_cookie(app, PATIENT).await;
    // What one page writes, rendered afresh (it also lists the day for the header).
    let count = |action| audited(&app.database_url, action, patient_id);
    let (listed, opened) = (count("visit.list").await, count("visit.open").await);
    page(app, &cookie, &c).await;
    let per_page = (
        count("visit.list").await - listed,
        count("visit.open").await - opened,
    );
    assert_eq!(per_page.1, 1);
    let (mut lists, mut pages) = (0, 1);
    let mut minutes = 30;
    let mut checked = false;
    for _attempt in 0..5 {
        let second = next_second().await;
        let before = list(app, &cookie).await;
        let (first_page, first_nonce) = page(app, &cookie, &c).await;
        lists += 1;
        pages += 1;
        minutes += 5;
        change_behind_the_apps_back(&app.database_url, &c, minutes).await;
        let after = list(app, &cookie).await;
        let (second_page, second_nonce) = page(app, &cookie, &c).await;
        lists += 1;
        pages += 1;
        if unix_now().as_secs() != second {
            continue; // the second ended in between: try again in a fresh one
        }
        assert_ne!(
            first_nonce, second_nonce,
            "every page has a nonce of its own"
        );
        assert!(second_page.contains(&second_nonce));
        assert!(!second_page.contains(&first_nonce));
        if using_postgres() {
            assert_eq!(duration_of(&after, &c), minutes);
            assert_eq!(page_duration(&second_page), minutes);
        } else {
            assert_eq!(duration_of(&after, &c), duration_of(&before, &c));
            assert_eq!(page_duration(&second_page), page_duration(&first_page));
            assert_eq!(
                second_page.replace(&second_nonce, "N"),
                first_page.replace(&first_nonce, "N"),
                "the same page, with a new nonce"
            );
        }
        checked = true;
        break;
    }
    assert!(checked, "no two reads fell within one second in five tries");
    next_second().await;
    assert_eq!(duration_of(&list(app, &cookie).await, &c), minutes);
    let (fresh, _) = page(app, &cookie, &c).await;
    assert_eq!(page_duration(&fresh), minutes);
    lists += 1;
    pages += 1;
    assert_eq!(
        count("visit.list").await,
        listed + lists + pages * per_page.0
    );
    assert_eq!(count("visit.open").await, opened + pages);
}

/// Two instances on one database. The patient's list and page are kept on A; reception
/// changes the visit through B; A's very next answer shows it, within the same second.
#[tokio::test]
async fn a_change_through_the_app_counts_at_once_on_every_instance() {
    let a = clinic(&[]).await;
    let env = crate::fixtures::app_env(&a.sim, &[]);
    let b = spawn_app_on(TempDir::new(), a.app.database_url.clone(), &pairs(&env)).await;
    let id = a.book_in(120).await;
    let patient = login_cookie(&a.app, PATIENT).await;
    let reception = login_cookie(&b, RECEPTIONIST).await;
    let mut minutes = 30;
    let mut checked = 0;
    for _attempt in 0..10 {
        let second = next_second().await;
        for _ in 0..2 {
            list(&a.app, &patient).await;
            page(&a.app, &patient, &id).await;
        }
        minutes += 5;
        let response = post_with(
            &b,
            &reception,
            "/api/visits/reschedule",
            &[
                ("id", id.as_str()),
                ("start", &crate::fixtures::local_in(120, "Europe/Berlin")),
                ("zone", "Europe/Berlin"),
                ("duration", &minutes.to_string()),
            ],
        )
        .await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        let listed = duration_of(&list(&a.app, &patient).await, &id);
        let (html, _) = page(&a.app, &patient, &id).await;
        assert_eq!(listed, minutes, "the list on A after the change on B");
        assert_eq!(
            page_duration(&html),
            minutes,
            "the page on A after the change on B"
        );
        if unix_now().as_secs() == second {
            checked += 1;
        }
        if checked == 2 {
            break;
        }
    }
    assert_eq!(checked, 2, "too few rounds fell within one second");

    // Reception cancels on B: A's list shows it cancelled at once.
    let response = post_with(&b, &reception, "/api/visits/cancel", &[("id", id.as_str())]).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let listed = list(&a.app, &patient).await;
    assert_eq!(
        listed.iter().find(|v| v["id"] == id.as_str()).unwrap()["cancelled"],
        true
    );
}

/// One page view is one audit entry: the visit page and the list page each read (and audit)
/// once per load. (They once re-read while rendering on the server, three entries a view.)
#[tokio::test]
async fn each_page_view_is_audited_once() {
    let clinic = clinic(&[]).await;
    let (app, patient_id) = (&clinic.app, clinic.patient_id);
    let id = clinic.book_in(60).await;
    let cookie = login_cookie(app, PATIENT).await;
    let count = |action| audited(&app.database_url, action, patient_id);
    page(app, &cookie, &id).await;
    assert_eq!(
        (count("visit.list").await, count("visit.open").await),
        (0, 1)
    );
    let response = get_with(app, &cookie, "/visits").await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains(&id));
    assert_eq!(
        (count("visit.list").await, count("visit.open").await),
        (1, 1)
    );
}
