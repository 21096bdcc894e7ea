//! Who may do what with a visit, over HTTP, for every appointment and meeting function and
//! seven kinds of caller. A refusal never carries a start or join link.

use crate::fixtures::{book, clinic, create_user, local_in, Clinic};
use crate::helpers::{TestApp, PATIENT};
use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Anonymous,
    ThePatient,
    AnotherPatient,
    TheDoctor,
    AnotherDoctor,
    Receptionist,
    Admin,
}

const EVERYONE: [Who; 7] = [
    Who::Anonymous,
    Who::ThePatient,
    Who::AnotherPatient,
    Who::TheDoctor,
    Who::AnotherDoctor,
    Who::Receptionist,
    Who::Admin,
];

struct Cast {
    c: Clinic,
    anonymous: Client,
    other_patient: Client,
    other_patient_id: i64,
    other_doctor: Client,
    other_doctor_id: i64,
}

impl Cast {
    fn client(&self, who: Who) -> &Client {
        match who {
            Who::Anonymous => &self.anonymous,
            Who::ThePatient => &self.c.patient,
            Who::AnotherPatient => &self.other_patient,
            Who::TheDoctor => &self.c.doctor,
            Who::AnotherDoctor => &self.other_doctor,
            Who::Receptionist => &self.c.receptionist,
            Who::Admin => &self.c.admin,
        }
    }
}

async fn cast() -> Cast {
    let c = clinic(&[]).await;
    let (other_patient_id, other_patient) = create_user(
        &c.app,
        &c.admin,
        "other.patient@demo.clinic",
        "patient",
        "Europe/London",
    )
    .await;
    let (other_doctor_id, other_doctor) = create_user(
        &c.app,
        &c.admin,
        "other.doctor@demo.clinic",
        "doctor",
        "Europe/Madrid",
    )
    .await;
    Cast {
        anonymous: c.app.client(),
        c,
        other_patient,
        other_patient_id,
        other_doctor,
        other_doctor_id,
    }
}

/// The appointment and meeting functions, with the arguments each is called with.
#[derive(Debug)]
enum Endpoint<'a> {
    List,
    Get(&'a str),
    Options,
    Reschedule {
        id: &'a str,
        start: &'a str,
        zone: &'a str,
        duration: u32,
    },
    ChangeDoctor {
        id: &'a str,
        doctor_id: i64,
    },
    Cancel(&'a str),
    Retry(&'a str),
    Start(&'a str),
    Join(&'a str),
    Audit,
    /// A booking with `doctor_id` for `patient_id`, 10 hours ahead.
    Book {
        doctor_id: i64,
        patient_id: i64,
    },
}

impl Endpoint<'_> {
    async fn send(&self, app: &TestApp, client: &Client) -> Response {
        match *self {
            Endpoint::List => app.list_visits(client).await,
            Endpoint::Get(id) => app.get_visit(client, id).await,
            Endpoint::Options => app.booking_options(client).await,
            Endpoint::Reschedule {
                id,
                start,
                zone,
                duration,
            } => {
                app.reschedule_visit(client, id, start, zone, duration)
                    .await
            }
            Endpoint::ChangeDoctor { id, doctor_id } => {
                app.change_doctor(client, id, doctor_id).await
            }
            Endpoint::Cancel(id) => app.cancel_visit(client, id).await,
            Endpoint::Retry(id) => app.retry_meeting(client, id).await,
            Endpoint::Start(id) => app.start_meeting(client, id).await,
            Endpoint::Join(id) => app.join_meeting(client, id).await,
            Endpoint::Audit => app.audit_log(client, &[]).await,
            Endpoint::Book {
                doctor_id,
                patient_id,
            } => {
                let zone = "Europe/Berlin";
                book(
                    app,
                    client,
                    doctor_id,
                    Some(patient_id),
                    &local_in(600, zone),
                    zone,
                )
                .await
            }
        }
    }
}

/// No refused answer may leak a Zoom link of any kind.
fn assert_no_links(who: Who, endpoint: &Endpoint<'_>, body: &str) {
    for needle in ["/s/", "/j/", "zak=", "pwd=", "start_url", "join_url"] {
        assert!(
            !body.contains(needle),
            "{who:?} on {endpoint:?} got {needle:?} in a refusal: {body}"
        );
    }
}

async fn check(cast: &Cast, endpoint: Endpoint<'_>, expected: impl Fn(Who) -> u16) {
    for who in EVERYONE {
        let response = endpoint.send(&cast.c.app, cast.client(who)).await;
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert_eq!(status, expected(who), "{who:?} on {endpoint:?}: {body}");
        if status >= 400 {
            assert_no_links(who, &endpoint, &body);
        }
    }
}

#[tokio::test]
async fn every_visit_function_answers_each_caller_as_it_should() {
    let cast = cast().await;
    let c = &cast.c;
    // Starts in 5 minutes: the join window is open.
    let id = c.book_in(5).await;
    c.wait_for_state(std::slice::from_ref(&id), "ready", Duration::from_secs(20))
        .await;
    let visit = id.as_str();
    use Who::*;

    // Seeing: everyone logged in may list, but only what is theirs.
    for who in EVERYONE {
        let response = c.app.list_visits(cast.client(who)).await;
        if who == Anonymous {
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            continue;
        }
        assert_eq!(response.status(), 200, "{who:?}");
        let body = response.text().await.unwrap();
        let sees = body.contains(&id);
        let should = !matches!(who, AnotherPatient | AnotherDoctor);
        assert_eq!(sees, should, "{who:?} listing");
        assert_no_links(who, &Endpoint::List, &body);
    }
    let sees = |who: Who| match who {
        Anonymous => 401,
        AnotherPatient | AnotherDoctor => 404,
        _ => 200,
    };
    check(&cast, Endpoint::Get(visit), sees).await;

    // Links: start for the assigned doctor and admins, join also for the patient.
    check(&cast, Endpoint::Start(visit), |who| match who {
        TheDoctor | Admin => 200,
        ThePatient | Receptionist => 403,
        other => sees(other),
    })
    .await;
    check(&cast, Endpoint::Join(visit), |who| match who {
        ThePatient | TheDoctor | Admin => 200,
        Receptionist => 403,
        other => sees(other),
    })
    .await;
    // Retry: only a failed meeting can be retried (409), and only by its hosts.
    check(&cast, Endpoint::Retry(visit), |who| match who {
        TheDoctor | Admin => 409,
        ThePatient | Receptionist => 403,
        other => sees(other),
    })
    .await;
    check(
        &cast,
        Endpoint::ChangeDoctor {
            id: visit,
            doctor_id: c.doctor_id,
        },
        |who| match who {
            Receptionist | Admin => 200,
            ThePatient | TheDoctor => 403,
            other => sees(other),
        },
    )
    .await;
    let new_time = local_in(10, "Europe/Berlin");
    check(
        &cast,
        Endpoint::Reschedule {
            id: visit,
            start: &new_time,
            zone: "Europe/Berlin",
            duration: 30,
        },
        sees,
    )
    .await;
    check(&cast, Endpoint::Audit, |who| match who {
        Anonymous => 401,
        Admin => 200,
        _ => 403,
    })
    .await;
    check(&cast, Endpoint::Options, |who| match who {
        Anonymous => 401,
        _ => 200,
    })
    .await;
    // Booking the visit's doctor for the visit's patient: the patient for themself, the doctor
    // for a patient they see, staff for anyone; never another patient for the patient, nor
    // another doctor with this doctor.
    check(
        &cast,
        Endpoint::Book {
            doctor_id: c.doctor_id,
            patient_id: c.patient_id,
        },
        |who| match who {
            Anonymous => 401,
            AnotherPatient | AnotherDoctor => 403,
            _ => 200,
        },
    )
    .await;

    // The calendar file follows the same visibility.
    for who in EVERYONE {
        let response = c.app.visit_calendar(cast.client(who), &id).await;
        assert_eq!(response.status().as_u16(), sees(who), "{who:?} calendar");
    }

    // Cancelling: refused callers first, then each allowed caller cancels a visit of its own.
    check(&cast, Endpoint::Cancel(visit), |who| match who {
        Anonymous => 401,
        AnotherPatient | AnotherDoctor => 404,
        // The first allowed caller cancels; the visit then stays cancelled for the rest.
        ThePatient => 200,
        _ => 409,
    })
    .await;
    for who in [TheDoctor, Receptionist, Admin] {
        let other = c.book_in(300).await;
        let response = c.app.cancel_visit(cast.client(who), &other).await;
        assert_eq!(response.status(), 200, "{who:?} cancels");
    }
}

#[tokio::test]
async fn booking_is_limited_to_ones_own_visits_and_patients() {
    let cast = cast().await;
    let c = &cast.c;
    let when = local_in(600, "Europe/Berlin");
    let zone = "Europe/Berlin";
    let booked = |r: reqwest::Response| r.status().as_u16();

    assert_eq!(
        booked(
            book(
                &c.app,
                &cast.anonymous,
                c.doctor_id,
                Some(c.patient_id),
                &when,
                zone
            )
            .await
        ),
        401
    );
    // A patient books for themself only.
    assert_eq!(
        booked(book(&c.app, &c.patient, c.doctor_id, None, &when, zone).await),
        200
    );
    assert_eq!(
        booked(
            book(
                &c.app,
                &c.patient,
                c.doctor_id,
                Some(cast.other_patient_id),
                &when,
                zone
            )
            .await
        ),
        403
    );
    // A doctor books with themself, for a patient they already see.
    assert_eq!(
        booked(
            book(
                &c.app,
                &c.doctor,
                c.doctor_id,
                Some(c.patient_id),
                &when,
                zone
            )
            .await
        ),
        200
    );
    assert_eq!(
        booked(
            book(
                &c.app,
                &c.doctor,
                cast.other_doctor_id,
                Some(c.patient_id),
                &when,
                zone
            )
            .await
        ),
        403
    );
    assert_eq!(
        booked(
            book(
                &c.app,
                &cast.other_doctor,
                cast.other_doctor_id,
                Some(c.patient_id),
                &when,
                zone
            )
            .await
        ),
        403,
        "not this doctor's patient"
    );
    // Reception and admins book for anyone; the ids must name an active doctor and patient.
    assert_eq!(
        booked(
            book(
                &c.app,
                &c.receptionist,
                cast.other_doctor_id,
                Some(cast.other_patient_id),
                &when,
                zone
            )
            .await
        ),
        200
    );
    assert_eq!(
        booked(
            book(
                &c.app,
                &c.admin,
                c.doctor_id,
                Some(cast.other_patient_id),
                &when,
                zone
            )
            .await
        ),
        200
    );
    let wrong_role = book(
        &c.app,
        &c.admin,
        c.patient_id,
        Some(c.patient_id),
        &when,
        zone,
    )
    .await;
    assert_eq!(wrong_role.status(), 400);
    assert_eq!(wrong_role.json::<Value>().await.unwrap()["field"], "doctor");
    let bad_length = c
        .app
        .book_visit(
            &c.admin,
            &[
                ("doctor_id", &c.doctor_id.to_string()),
                ("patient_id", &c.patient_id.to_string()),
                ("start", &when),
                ("zone", zone),
                ("duration", "600"),
            ],
        )
        .await;
    assert_eq!(bad_length.status(), 400);
    let garbage = c.app.book_visit(&c.admin, &[("doctor_id", "x")]).await;
    assert_eq!(garbage.status(), 400);
}

#[tokio::test]
async fn guessed_and_sequential_ids_are_not_found() {
    let cast = cast().await;
    let c = &cast.c;
    let real = c.book_in(60).await;
    let mut guesses = vec![
        "1".to_owned(),
        "2".to_owned(),
        "0000000000000000000001".to_owned(),
        "AAAAAAAAAAAAAAAAAAAAAA".to_owned(),
        "../../etc/passwd".to_owned(),
    ];
    // The real id with its last character changed.
    let mut near = real.clone();
    let last = near.pop().unwrap();
    near.push(if last == 'a' { 'b' } else { 'a' });
    guesses.push(near);
    for guess in &guesses {
        for endpoint in [
            Endpoint::Get(guess),
            Endpoint::Start(guess),
            Endpoint::Join(guess),
        ] {
            let response = endpoint.send(&c.app, &c.admin).await;
            assert_eq!(response.status(), 404, "{endpoint:?}");
        }
    }
    // Another patient holding the real id learns nothing from it.
    for endpoint in [
        Endpoint::Get(&real),
        Endpoint::Join(&real),
        Endpoint::Cancel(&real),
    ] {
        let response = endpoint.send(&c.app, &cast.other_patient).await;
        assert_eq!(response.status(), 404, "{endpoint:?}");
    }
    assert_eq!(
        cast.c.visit(&c.patient, &real).await["cancelled"],
        false,
        "the refused cancel changed nothing"
    );
}

#[tokio::test]
async fn the_join_window_opens_15_minutes_before_and_closes_at_the_end() {
    let c = clinic(&[]).await;
    let later = c.book_in(60).await;
    c.wait_for_state(
        std::slice::from_ref(&later),
        "ready",
        Duration::from_secs(20),
    )
    .await;
    let early = c.app.join_meeting(&c.patient, &later).await;
    assert_eq!(early.status(), 409);
    let body = early.text().await.unwrap();
    assert!(body.contains("opens 15 minutes before"), "{body}");
    assert!(!body.contains("/j/"));
    let patient_view = c.visit(&c.patient, &later).await;
    assert_eq!(patient_view["can_join"], true);
    assert_eq!(patient_view["can_start"], false);

    // A 10-minute visit that started 20 minutes ago: over. Nobody can book a time that has
    // passed, so it is booked ahead and its start moved back in the database.
    let response = c
        .app
        .book_visit(
            &c.receptionist,
            &[
                ("doctor_id", &c.doctor_id.to_string()),
                ("patient_id", &c.patient_id.to_string()),
                ("start", &local_in(90, "UTC")),
                ("zone", "UTC"),
                ("duration", "10"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let past = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    c.wait_for_state(
        std::slice::from_ref(&past),
        "ready",
        Duration::from_secs(20),
    )
    .await;
    let mut db = crate::fixtures::database(&c.app).await;
    sqlx::query("UPDATE appointments SET starts_at = $1 WHERE public_id = $2")
        .bind(chrono::Utc::now().timestamp() - 20 * 60)
        .bind(past.clone())
        .execute(&mut db)
        .await
        .unwrap();
    let ended = c.app.join_meeting(&c.patient, &past).await;
    assert_eq!(ended.status(), 409);
    assert!(ended.text().await.unwrap().contains("ended"));
}

#[tokio::test]
async fn booking_options_name_only_whom_each_caller_may_book_with_and_for() {
    let cast = cast().await;
    let c = &cast.c;
    // The doctor sees the patient through this visit; the other doctor sees nobody.
    c.book_in(120).await;
    let options = |who: Who| {
        let client = cast.client(who).clone();
        async move {
            let response = c.app.booking_options(&client).await;
            let status = response.status().as_u16();
            let body = response.text().await.unwrap();
            (status, body)
        }
    };
    let ids = |list: &Value| -> Vec<i64> {
        let mut ids: Vec<i64> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|choice| choice["id"].as_i64().unwrap())
            .collect();
        ids.sort();
        ids
    };
    let sorted = |mut v: Vec<i64>| {
        v.sort();
        v
    };
    let all_doctors = sorted(vec![c.doctor_id, cast.other_doctor_id]);
    let all_patients = sorted(vec![c.patient_id, cast.other_patient_id]);
    for who in EVERYONE {
        let (status, body) = options(who).await;
        if who == Who::Anonymous {
            assert_eq!(status, 401);
            continue;
        }
        assert_eq!(status, 200, "{who:?}: {body}");
        let parsed: Value = serde_json::from_str(&body).unwrap();
        let (doctors, patients) = (ids(&parsed["doctors"]), ids(&parsed["patients"]));
        match who {
            Who::ThePatient | Who::AnotherPatient => {
                // Themself only (the list stays empty: they book for themself), and the
                // doctors by name: no email address of anyone.
                let own = if who == Who::ThePatient {
                    c.patient_id
                } else {
                    cast.other_patient_id
                };
                assert!(patients.iter().all(|p| *p == own), "{who:?}: {body}");
                assert_eq!(doctors, all_doctors, "{who:?}");
                assert!(!body.contains('@'), "{who:?} got an email address: {body}");
                let labels: Vec<&str> = parsed["doctors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d["label"].as_str().unwrap())
                    .collect();
                assert!(labels.contains(&"Dr. Ada Lovelace"), "{labels:?}");
            }
            Who::TheDoctor => {
                assert_eq!(doctors, vec![c.doctor_id]);
                assert_eq!(patients, vec![c.patient_id], "only the patient they see");
            }
            Who::AnotherDoctor => {
                assert_eq!(doctors, vec![cast.other_doctor_id]);
                assert!(patients.is_empty(), "no patient of theirs yet: {body}");
            }
            Who::Receptionist | Who::Admin => {
                assert_eq!(doctors, all_doctors, "{who:?}");
                assert_eq!(patients, all_patients, "{who:?}");
            }
            Who::Anonymous => unreachable!(),
        }
    }
    let zone = |who: Who| async move {
        let (_, body) = options(who).await;
        serde_json::from_str::<Value>(&body).unwrap()["default_zone"].clone()
    };
    assert_eq!(zone(Who::ThePatient).await, "America/New_York");
    assert_eq!(zone(Who::AnotherPatient).await, "Europe/London");
    assert_eq!(zone(Who::TheDoctor).await, "Europe/Berlin");
}

#[tokio::test]
async fn a_visit_page_shows_nothing_of_the_visit_to_those_who_do_not_see_it() {
    let cast = cast().await;
    let c = &cast.c;
    let id = c.book_in(120).await;
    let path = format!("/visits/{id}");
    let page = |who: Who| {
        let client = cast.client(who).clone();
        let url = c.app.url(&path);
        async move {
            let response = client.get(url).send().await.unwrap();
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned());
            (status, location, response.text().await.unwrap())
        }
    };
    let (status, location, _) = page(Who::Anonymous).await;
    assert_eq!(status, 303);
    assert_eq!(
        location.as_deref(),
        Some(format!("/login?next={path}").as_str())
    );
    for who in [Who::AnotherPatient, Who::AnotherDoctor] {
        let (status, _, html) = page(who).await;
        assert_eq!(status, 200, "{who:?}");
        assert!(!html.contains("Ada Lovelace"), "{who:?} sees the doctor");
        assert!(!names_account(&html, PATIENT.0), "{who:?} sees the patient");
        assert!(!html.contains("/j/") && !html.contains("/s/"), "{who:?}");
    }
    for who in [
        Who::ThePatient,
        Who::TheDoctor,
        Who::Receptionist,
        Who::Admin,
    ] {
        let (status, _, html) = page(who).await;
        assert_eq!(status, 200, "{who:?}");
        assert!(
            html.contains("Ada Lovelace"),
            "{who:?} does not see the visit"
        );
    }
}

/// Whether `email` appears as a whole address (not as the end of a longer one).
fn names_account(text: &str, email: &str) -> bool {
    text.match_indices(email).any(|(at, _)| {
        !text[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || ".-_+".contains(c))
    })
}
