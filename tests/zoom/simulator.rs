//! The Zoom simulator on its own: it must behave like Zoom where the app depends on it, and
//! its responses must match the shapes in Zoom's published OpenAPI spec.

use crate::{challenge, meeting_body, query, start, REDIRECT, VERIFIER};

use serde_json::{json, Value};

// --- A small checker for the OpenAPI schema subset Zoom's spec uses -------------------------

fn schemas() -> Value {
    serde_json::from_str(include_str!("../fixtures/zoom_spec_schemas.json")).unwrap()
}

pub(crate) fn check(value: &Value, schema: &Value, path: &str, errors: &mut Vec<String>) {
    for key in ["allOf"] {
        if let Some(parts) = schema.get(key).and_then(Value::as_array) {
            for part in parts {
                check(value, part, path, errors);
            }
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(parts) = schema.get(key).and_then(Value::as_array) {
            let fits = parts.iter().any(|part| {
                let mut sub = Vec::new();
                check(value, part, path, &mut sub);
                sub.is_empty()
            });
            if !fits {
                errors.push(format!("{path}: matches no branch of {key}"));
            }
        }
    }
    if value.is_null() && schema.get("nullable") == Some(&json!(true)) {
        return;
    }
    let kind_ok = match schema.get("type").and_then(Value::as_str) {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        _ => true,
    };
    if !kind_ok {
        errors.push(format!("{path}: expected {}, got {value}", schema["type"]));
        return;
    }
    // A field the spec marks required must be there, whatever else the object holds.
    if let (Some(required), Some(object)) = (
        schema.get("required").and_then(Value::as_array),
        value.as_object(),
    ) {
        for name in required.iter().filter_map(Value::as_str) {
            if !object.contains_key(name) {
                errors.push(format!("{path}: required field {name:?} is missing"));
            }
        }
    }
    if let (Some(max), Some(number)) = (
        schema.get("maximum").and_then(Value::as_f64),
        value.as_f64(),
    ) {
        if number > max {
            errors.push(format!("{path}: {number} is above the maximum {max}"));
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            errors.push(format!("{path}: {value} not in enum {allowed:?}"));
        }
    }
    if let (Some(max), Some(text)) = (
        schema.get("maxLength").and_then(Value::as_u64),
        value.as_str(),
    ) {
        if text.chars().count() as u64 > max {
            errors.push(format!("{path}: longer than {max}"));
        }
    }
    if schema.get("format").and_then(Value::as_str) == Some("date-time") {
        if let Some(text) = value.as_str() {
            if chrono::DateTime::parse_from_rfc3339(text).is_err() {
                errors.push(format!("{path}: {text:?} is not a date-time"));
            }
        }
    }
    if let (Some(props), Some(object)) = (
        schema.get("properties").and_then(Value::as_object),
        value.as_object(),
    ) {
        for (key, sub) in object {
            if let Some(prop_schema) = props.get(key) {
                check(sub, prop_schema, &format!("{path}.{key}"), errors);
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            check(item, items, &format!("{path}[{i}]"), errors);
        }
    }
}

fn assert_conforms(value: &Value, operation: &str) {
    let schemas = schemas();
    let schema = &schemas[operation];
    assert!(schema.is_object(), "no schema for {operation}");
    let mut errors = Vec::new();
    check(value, schema, operation, &mut errors);
    assert!(
        errors.is_empty(),
        "{operation} response does not match Zoom's spec: {errors:#?}\n{value:#}"
    );
}

#[test]
fn the_schema_checker_is_not_vacuous() {
    let schemas = schemas();
    let mut errors = Vec::new();
    check(
        &json!({ "id": "not-a-number", "topic": "t" }),
        &schemas["meetingCreate"],
        "meetingCreate",
        &mut errors,
    );
    assert!(!errors.is_empty(), "a string meeting id must be refused");
    let mut errors = Vec::new();
    check(
        &json!({ "type": 42 }),
        &schemas["meeting"],
        "meeting",
        &mut errors,
    );
    assert!(
        !errors.is_empty(),
        "an unknown meeting type must be refused"
    );
    let mut errors = Vec::new();
    check(
        &json!({ "id": "u1", "email": "a@b.c" }),
        &schemas["user"],
        "user",
        &mut errors,
    );
    assert!(
        errors.iter().any(|e| e.contains("required field \"type\"")),
        "a user without its required type must be refused: {errors:?}"
    );
    let mut errors = Vec::new();
    check(
        &json!({ "page_size": 301, "meetings": [] }),
        &schemas["meetings"],
        "meetings",
        &mut errors,
    );
    assert!(!errors.is_empty(), "a page larger than 300 must be refused");
}

// --- Behaviour ------------------------------------------------------------------------------

#[tokio::test]
async fn responses_match_zooms_published_schemas() {
    let sim = start().await;
    let (token, _) = sim.user_tokens("zu_grace").await;
    let (status, created) = sim
        .api(
            reqwest::Method::POST,
            "/users/me/meetings",
            &token,
            Some(meeting_body("visit123")),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_conforms(&created, "meetingCreate");
    assert!(
        created["id"].is_i64()
            && created["start_url"].is_string()
            && created["join_url"].is_string()
    );
    assert_eq!(created["start_time"], "2030-03-31T12:02:00Z");
    let id = created["id"].as_i64().unwrap();

    let (status, fetched) = sim
        .api(
            reqwest::Method::GET,
            &format!("/meetings/{id}"),
            &token,
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_conforms(&fetched, "meeting");
    assert_ne!(
        fetched["start_url"], created["start_url"],
        "every read carries a fresh start link"
    );
    assert_eq!(fetched["settings"]["waiting_room"], true);

    let (status, list) = sim
        .api(reqwest::Method::GET, "/users/me/meetings", &token, None)
        .await;
    assert_eq!(status, 200);
    assert_conforms(&list, "meetings");
    assert_eq!(list["total_records"], 1);

    let (status, user) = sim
        .api(reqwest::Method::GET, "/users/me", &token, None)
        .await;
    assert_eq!(status, 200);
    assert_conforms(&user, "user");
    assert_eq!(user["email"], "grace@demo.clinic");

    let (status, settings) = sim
        .api(reqwest::Method::GET, "/users/me/settings", &token, None)
        .await;
    assert_eq!(status, 200);
    assert_conforms(&settings, "userSettings");
    assert!(settings["schedule_meeting"]["meeting_password_requirement"]["length"].is_u64());
}

#[tokio::test]
async fn the_authorization_code_flow_enforces_pkce_redirect_and_one_use() {
    let sim = start().await;
    let client = ("demo-oauth-client", "demo-oauth-secret");
    let back = sim.consent("zu_ada", "allow", &challenge(VERIFIER)).await;
    assert_eq!(query(&back, "state").as_deref(), Some("st4te"));
    let code = query(&back, "code").unwrap();
    let wrong = sim
        .token(
            client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                (
                    "code_verifier",
                    "wrong-verifier-wrong-verifier-wrong-verifier",
                ),
            ],
        )
        .await;
    assert_eq!(wrong.0, 400);
    assert_eq!(wrong.1["error"], "invalid_grant");
    // A code is spent by any attempt.
    let replay = sim
        .token(
            client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_eq!(replay.0, 400);

    let code = query(
        &sim.consent("zu_ada", "allow", &challenge(VERIFIER)).await,
        "code",
    )
    .unwrap();
    let other_redirect = sim
        .token(
            client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "http://127.0.0.1:9/elsewhere"),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_eq!(other_redirect.1["error"], "invalid_grant");

    let bad_client = sim
        .token(
            ("demo-oauth-client", "nope"),
            &[("grant_type", "authorization_code"), ("code", "x")],
        )
        .await;
    assert_eq!(bad_client.0, 401);
    assert_eq!(bad_client.1["error"], "invalid_client");

    let denied = sim.consent("zu_ada", "deny", &challenge(VERIFIER)).await;
    assert_eq!(query(&denied, "error").as_deref(), Some("access_denied"));
    assert_eq!(query(&denied, "code"), None);
    assert_eq!(sim.counters().await["token_grants"], 0);
}

#[tokio::test]
async fn refresh_tokens_rotate_and_the_old_one_dies_at_once() {
    let sim = start().await;
    let client = ("demo-oauth-client", "demo-oauth-secret");
    let (_, refresh) = sim.user_tokens("zu_ada").await;
    let (status, rotated) = sim
        .token(
            client,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(status, 200);
    let new_refresh = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(new_refresh, refresh);
    let (status, body) = sim
        .token(
            client,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    let (status, _) = sim
        .token(
            client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &new_refresh),
            ],
        )
        .await;
    assert_eq!(status, 200);
    let counters = sim.counters().await;
    assert_eq!(counters["refreshes"], 2);
    assert_eq!(counters["refresh_failures"], 1);
}

#[tokio::test]
async fn access_tokens_expire_are_header_only_and_die_with_revocation() {
    let sim = start().await;
    let (token, _) = sim.user_tokens("zu_ada").await;
    assert_eq!(
        sim.api(reqwest::Method::GET, "/users/me", &token, None)
            .await
            .0,
        200
    );
    let in_query = sim
        .http
        .get(format!("{}/v2/users/me?access_token={token}", sim.url))
        .send()
        .await
        .unwrap();
    assert_eq!(in_query.status(), 401);
    assert_eq!(in_query.json::<Value>().await.unwrap()["code"], 124);
    assert_eq!(
        sim.api(reqwest::Method::GET, "/users/me", "made-up", None)
            .await
            .1["code"],
        124
    );

    sim.control("expire-access-tokens", json!({})).await;
    let (status, body) = sim
        .api(reqwest::Method::GET, "/users/me", &token, None)
        .await;
    assert_eq!((status.as_u16(), body["code"].as_i64()), (401, Some(124)));

    let (token, refresh) = sim.user_tokens("zu_ada").await;
    let revoke = sim
        .http
        .post(format!("{}/oauth/revoke", sim.url))
        .basic_auth("demo-oauth-client", Some("demo-oauth-secret"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.json::<Value>().await.unwrap()["status"], "success");
    assert_eq!(
        sim.api(reqwest::Method::GET, "/users/me", &token, None)
            .await
            .0,
        401
    );
    let (status, _) = sim
        .token(
            ("demo-oauth-client", "demo-oauth-secret"),
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(
        status, 400,
        "revoking the access token kills the grant's refresh token too"
    );
}

#[tokio::test]
async fn server_to_server_tokens_act_for_the_account() {
    let sim = start().await;
    let s2s = ("demo-s2s-client", "demo-s2s-secret");
    let (status, body) = sim
        .token(
            s2s,
            &[
                ("grant_type", "account_credentials"),
                ("account_id", "demo-account"),
            ],
        )
        .await;
    assert_eq!(status, 200);
    assert!(body.get("refresh_token").is_none());
    assert!(body["scope"]
        .as_str()
        .unwrap()
        .contains("meeting:write:admin"));
    let token = body["access_token"].as_str().unwrap();
    let (status, user) = sim
        .api(
            reqwest::Method::GET,
            "/users/grace@demo.clinic",
            token,
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(user["id"], "zu_grace");
    let (status, _) = sim
        .api(
            reqwest::Method::POST,
            "/users/zu_alan/meetings",
            token,
            Some(meeting_body("visit123")),
        )
        .await;
    assert_eq!(status, 201);
    let wrong_account = sim
        .token(
            s2s,
            &[
                ("grant_type", "account_credentials"),
                ("account_id", "other"),
            ],
        )
        .await;
    assert_eq!(wrong_account.0, 400);
    let user_app = sim
        .token(
            ("demo-oauth-client", "demo-oauth-secret"),
            &[
                ("grant_type", "account_credentials"),
                ("account_id", "demo-account"),
            ],
        )
        .await;
    assert_eq!(
        user_app.0, 400,
        "a user-managed app cannot get account tokens"
    );
}

#[tokio::test]
async fn meetings_answer_with_zooms_status_codes() {
    let sim = start().await;
    let (token, _) = sim.user_tokens("zu_grace").await;
    let (_, created) = sim
        .api(
            reqwest::Method::POST,
            "/users/me/meetings",
            &token,
            Some(meeting_body("visit123")),
        )
        .await;
    let id = created["id"].as_i64().unwrap();
    // Zoom ignores a start in the past on an update: a year from now, whatever today is.
    let next_year = chrono::Utc::now().date_naive() + chrono::Days::new(365);
    let moved_to = format!("{next_year}T09:00:00Z");
    let (status, _) = sim
        .api(
            reqwest::Method::PATCH,
            &format!("/meetings/{id}"),
            &token,
            Some(json!({ "start_time": moved_to })),
        )
        .await;
    assert_eq!(status, 204);
    let (_, fetched) = sim
        .api(
            reqwest::Method::GET,
            &format!("/meetings/{id}"),
            &token,
            None,
        )
        .await;
    assert_eq!(fetched["start_time"], moved_to.as_str());
    assert_eq!(
        sim.api(
            reqwest::Method::DELETE,
            &format!("/meetings/{id}"),
            &token,
            None
        )
        .await
        .0,
        204
    );
    let (status, body) = sim
        .api(
            reqwest::Method::DELETE,
            &format!("/meetings/{id}"),
            &token,
            None,
        )
        .await;
    assert_eq!((status.as_u16(), body["code"].as_i64()), (404, Some(3001)));
    let (status, body) = sim
        .api(reqwest::Method::GET, "/meetings/not-a-number", &token, None)
        .await;
    assert_eq!((status.as_u16(), body["code"].as_i64()), (400, Some(300)));
    let not_json = sim
        .http
        .post(format!("{}/v2/users/me/meetings", sim.url))
        .bearer_auth(&token)
        .body("[1,2]")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    // Someone else's meeting is not yours to change.
    let (other, _) = sim.user_tokens("zu_alan").await;
    let (_, theirs) = sim
        .api(
            reqwest::Method::POST,
            "/users/me/meetings",
            &other,
            Some(meeting_body("visit123")),
        )
        .await;
    let (status, body) = sim
        .api(
            reqwest::Method::DELETE,
            &format!("/meetings/{}", theirs["id"]),
            &token,
            None,
        )
        .await;
    assert_eq!((status.as_u16(), body["code"].as_i64()), (400, Some(3003)));
    let counters = sim.counters().await;
    assert_eq!(
        (
            counters["meetings_created"].as_i64(),
            counters["meetings_updated"].as_i64(),
            counters["meetings_deleted"].as_i64()
        ),
        (Some(2), Some(1), Some(1))
    );
}

#[tokio::test]
async fn passcodes_must_satisfy_zoom_and_the_hosts_policy() {
    let sim = start().await;
    // zu_ada's account policy: at least 8 characters with a letter and a number.
    let (token, _) = sim.user_tokens("zu_ada").await;
    for bad in ["short1", "lettersonly", "with space1", "elevenchar1"] {
        let (status, body) = sim
            .api(
                reqwest::Method::POST,
                "/users/me/meetings",
                &token,
                Some(meeting_body(bad)),
            )
            .await;
        assert_eq!(
            (status.as_u16(), body["code"].as_i64()),
            (400, Some(300)),
            "{bad}: {body}"
        );
    }
    let (status, body) = sim
        .api(
            reqwest::Method::POST,
            "/users/me/meetings",
            &token,
            Some(meeting_body("abc12345")),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["password"], "abc12345");
    assert!(body["join_url"].as_str().unwrap().contains("pwd="));
}

#[tokio::test]
async fn the_daily_create_and_update_limit_answers_429_until_midnight_utc() {
    let sim = start().await;
    sim.control("config", json!({ "daily_meeting_limit": 3 }))
        .await;
    let (token, _) = sim.user_tokens("zu_grace").await;
    for _ in 0..3 {
        assert_eq!(
            sim.api(
                reqwest::Method::POST,
                "/users/me/meetings",
                &token,
                Some(meeting_body("visit123"))
            )
            .await
            .0,
            201
        );
    }
    let r = sim
        .http
        .post(format!("{}/v2/users/me/meetings", sim.url))
        .bearer_auth(&token)
        .json(&meeting_body("visit123"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["x-ratelimit-type"], "Daily-limit");
    let retry_after = r.headers()["retry-after"].to_str().unwrap().to_owned();
    let midnight = chrono::DateTime::parse_from_rfc3339(&retry_after)
        .expect("Retry-After is an ISO-8601 instant");
    assert_eq!(midnight.timestamp() % 86_400, 0);
    assert!(r.json::<Value>().await.unwrap()["message"]
        .as_str()
        .unwrap()
        .contains("daily rate limit (3)"));
    // Another host's quota is untouched.
    let (other, _) = sim.user_tokens("zu_alan").await;
    assert_eq!(
        sim.api(
            reqwest::Method::POST,
            "/users/me/meetings",
            &other,
            Some(meeting_body("visit123"))
        )
        .await
        .0,
        201
    );
}

#[tokio::test]
async fn the_per_second_limit_and_injected_faults_answer_like_zoom() {
    let sim = start().await;
    let (token, _) = sim.user_tokens("zu_grace").await;
    sim.control("config", json!({ "rate_limit_per_sec": 2 }))
        .await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let r = sim
            .http
            .get(format!("{}/v2/users/me", sim.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            assert_eq!(r.headers()["x-ratelimit-type"], "QPS");
            assert_eq!(r.headers()["retry-after"], "1");
        }
        statuses.push(r.status().as_u16());
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    sim.control("config", json!({ "rate_limit_per_sec": 1000 }))
        .await;
    sim.control(
        "faults",
        json!({ "error_rate": 1.0, "error_kinds": ["503"] }),
    )
    .await;
    assert_eq!(
        sim.api(reqwest::Method::GET, "/users/me", &token, None)
            .await
            .0,
        503
    );
    sim.control("faults", json!({})).await;
    assert_eq!(
        sim.api(reqwest::Method::GET, "/users/me", &token, None)
            .await
            .0,
        200
    );
    assert_eq!(sim.counters().await["faults_injected"], 1);
}

#[tokio::test]
async fn meeting_lists_come_in_pages_linked_by_next_page_token() {
    let sim = start().await;
    let (token, _) = sim.user_tokens("zu_grace").await;
    let mut made = Vec::new();
    for _ in 0..5 {
        let (status, created) = sim
            .api(
                reqwest::Method::POST,
                "/users/me/meetings",
                &token,
                Some(meeting_body("visit123")),
            )
            .await;
        assert_eq!(status, 201);
        made.push(created["id"].as_i64().unwrap());
    }
    // Pages of 2: 2 + 2 + 1, each token leading to the next, the last one empty.
    let mut seen = Vec::new();
    let mut path = "/users/me/meetings?type=scheduled&page_size=2".to_owned();
    let mut pages = 0;
    loop {
        let (status, page) = sim.api(reqwest::Method::GET, &path, &token, None).await;
        assert_eq!(status, 200, "{page}");
        assert_conforms(&page, "meetings");
        pages += 1;
        assert_eq!(page["page_size"], 2);
        assert_eq!(page["total_records"], 5);
        assert_eq!(page["page_count"], 3);
        let listed = page["meetings"].as_array().unwrap();
        assert_eq!(listed.len(), if pages < 3 { 2 } else { 1 }, "{page}");
        seen.extend(listed.iter().map(|m| m["id"].as_i64().unwrap()));
        let next = page["next_page_token"].as_str().unwrap();
        if next.is_empty() {
            break;
        }
        assert!(pages < 3, "the third page is the last");
        path = format!("/users/me/meetings?type=scheduled&page_size=2&next_page_token={next}");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, made, "every meeting exactly once, in order");

    // Zoom's default page is 30 records; at most 300 are given at once.
    let (_, default) = sim
        .api(reqwest::Method::GET, "/users/me/meetings", &token, None)
        .await;
    assert_eq!(default["page_size"], 30);
    assert_eq!(default["next_page_token"], "");
    let (_, capped) = sim
        .api(
            reqwest::Method::GET,
            "/users/me/meetings?page_size=1000",
            &token,
            None,
        )
        .await;
    assert_eq!(capped["page_size"], 300);
    let (status, body) = sim
        .api(
            reqwest::Method::GET,
            "/users/me/meetings?next_page_token=made-up",
            &token,
            None,
        )
        .await;
    assert_eq!((status.as_u16(), body["code"].as_i64()), (400, Some(300)));
}

#[tokio::test]
async fn faults_after_apply_make_the_change_and_then_fail_the_answer() {
    let sim = start().await;
    let (token, _) = sim.user_tokens("zu_grace").await;
    let quick = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(2))
        .build()
        .unwrap();
    let create = || {
        quick
            .post(format!("{}/v2/users/me/meetings", sim.url))
            .bearer_auth(&token)
            .json(&meeting_body("visit123"))
            .send()
    };
    let only = |kind: &str| json!({ "error_rate": 1.0, "error_kinds": [kind] });

    sim.control("faults", only("500-after-apply")).await;
    let answer = create().await.unwrap();
    assert_eq!(answer.status(), 500);
    assert_eq!(sim.counters().await["meetings_created"], 1);

    sim.control("faults", only("reset-after-apply")).await;
    let broken = create().await.unwrap_err();
    assert!(
        !broken.is_timeout(),
        "the connection breaks at once: {broken:?}"
    );
    assert_eq!(sim.counters().await["meetings_created"], 2);

    sim.control("faults", only("lost-after-apply")).await;
    let lost = create().await.unwrap_err();
    assert!(
        lost.is_timeout(),
        "no answer before the caller gives up: {lost:?}"
    );
    assert_eq!(sim.counters().await["meetings_created"], 3);

    // A fault before the request runs changes nothing.
    sim.control("faults", only("500")).await;
    assert_eq!(create().await.unwrap().status(), 500);
    let counters = sim.counters().await;
    assert_eq!(counters["meetings_created"], 3);
    assert_eq!(counters["faults_after_apply"], 3);
    assert_eq!(counters["faults_injected"], 4);
}

#[tokio::test]
async fn held_create_answers_wait_for_the_release_with_their_meeting_made() {
    let sim = start().await;
    let (token, _) = sim.user_tokens("zu_grace").await;
    sim.control("hold", json!({ "creates": true })).await;
    let request = sim
        .http
        .post(format!("{}/v2/users/me/meetings", sim.url))
        .bearer_auth(&token)
        .json(&meeting_body("visit123"))
        .send();
    let held = tokio::spawn(request);
    let status = wait_for_held(&sim, 1).await;
    assert_eq!(status["held"], 1);
    assert_eq!(sim.counters().await["meetings_created"], 1, "made already");
    assert!(!held.is_finished(), "the answer is held");
    let meeting_id = status["meetings"][0].as_i64().unwrap();

    sim.control("hold", json!({ "creates": false })).await;
    let answer = held.await.unwrap().unwrap();
    assert_eq!(answer.status(), 201);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["id"], meeting_id);
    let after: Value = sim
        .http
        .get(format!("{}/_sim/hold", sim.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after["waiting"], 0);
    // Not holding: answers come at once.
    let (status, _) = sim
        .api(
            reqwest::Method::POST,
            "/users/me/meetings",
            &token,
            Some(meeting_body("visit123")),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(sim.counters().await["creates_held"], 1);
}

/// `GET /_sim/hold` once `waiting` answers are held (bounded wait).
async fn wait_for_held(sim: &crate::Sim, waiting: u64) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let status: Value = sim
            .http
            .get(format!("{}/_sim/hold", sim.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if status["waiting"].as_u64() >= Some(waiting) {
            return status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nothing held: {status}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
