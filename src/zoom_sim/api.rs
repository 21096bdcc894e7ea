//! Zoom's REST API under `/v2`: users, user settings, meetings. Shapes and status codes follow
//! Zoom's OpenAPI spec; errors are `{code, message}` as Zoom sends them.

use super::state::{now, random_secret, Meeting, PasscodeRule, Principal, SimState, SimUser};
use super::Shared;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use serde_json::{json, Value};
use std::collections::HashMap;

pub fn zoom_error(status: StatusCode, code: i64, message: &str) -> Response {
    ApiError::new(status, code, message).into_response()
}

/// An error as Zoom sends it: a status, `{code, message}`, and sometimes rate-limit headers.
pub struct ApiError {
    status: StatusCode,
    code: i64,
    message: String,
    headers: Vec<(&'static str, String)>,
}

impl ApiError {
    fn new(status: StatusCode, code: i64, message: &str) -> Self {
        Self {
            status,
            code,
            message: message.to_owned(),
            headers: Vec::new(),
        }
    }

    fn header(mut self, name: &'static str, value: impl ToString) -> Self {
        self.headers.push((name, value.to_string()));
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(json!({ "code": self.code, "message": self.message })),
        )
            .into_response();
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

fn invalid_token() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, 124, "Invalid access token.")
}

/// Authenticates and applies the account's per-second limit.
fn authorize(
    state: &mut SimState,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Result<Principal, ApiError> {
    if query.contains_key("access_token") {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            124,
            "Invalid access token, this access token is not supported as query parameter string.",
        ));
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(invalid_token)?;
    let principal = state.authenticate(token.trim()).ok_or_else(invalid_token)?;
    state.counters.api_requests += 1;
    let second = now();
    if state.qps_window.0 != second {
        state.qps_window = (second, 0);
    }
    state.qps_window.1 += 1;
    let limit = state.config.rate_limit_per_sec;
    if state.qps_window.1 > limit {
        state.counters.rate_limited += 1;
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            429,
            "You have reached the maximum per-second rate limit for this API. Try again later.",
        )
        .header("x-ratelimit-category", "Light")
        .header("x-ratelimit-type", "QPS")
        .header("x-ratelimit-limit", limit)
        .header("x-ratelimit-remaining", 0)
        .header("retry-after", 1));
    }
    Ok(principal)
}

/// The user a path names (`me`, an id or an email), if this principal may act for them.
fn resolve_user(state: &SimState, principal: &Principal, who: &str) -> Result<SimUser, ApiError> {
    let target = match (principal, who) {
        (Principal::User { user_id, .. }, "me") => state.user(user_id),
        (Principal::Account, "me") => state.users.first(),
        (_, other) => state.user(other),
    };
    let Some(target) = target.cloned() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            1001,
            &format!("User does not exist: {who}."),
        ));
    };
    match principal {
        Principal::User { user_id, .. } if *user_id != target.id => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            1010,
            "User does not belong to this account or the token cannot act for this user.",
        )),
        _ => Ok(target),
    }
}

fn user_json(user: &SimUser) -> Value {
    json!({
        "id": user.id,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "display_name": format!("{} {}", user.first_name, user.last_name),
        "email": user.email,
        "type": 2,
        "account_id": super::state::ACCOUNT_ID,
        "timezone": user.timezone,
        "status": "active",
        "verified": 1,
        "language": "en-US",
        "created_at": "2024-01-01T00:00:00Z",
    })
}

pub async fn get_user(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    Path(who): Path<String>,
) -> Result<Response, ApiError> {
    let mut state = shared.lock();
    let principal = authorize(&mut state, &headers, &query)?;
    let user = resolve_user(&state, &principal, &who)?;
    Ok(Json(user_json(&user)).into_response())
}

pub async fn get_user_settings(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    Path(who): Path<String>,
) -> Result<Response, ApiError> {
    let mut state = shared.lock();
    let principal = authorize(&mut state, &headers, &query)?;
    let user = resolve_user(&state, &principal, &who)?;
    Ok(Json(json!({
        "schedule_meeting": {
            "host_video": true,
            "participants_video": true,
            "join_before_host": false,
            "require_password_for_scheduling_new_meetings": true,
            "meeting_password_requirement": user.passcode_rule,
        },
        "in_meeting": { "waiting_room": true },
    }))
    .into_response())
}

const PASSCODE_SPECIALS: &str = "@-_*!";

/// Zoom's passcode rules: at most 10 of `[A-Za-z0-9@-_*!]`, plus the host's policy.
pub fn passcode_problem(passcode: &str, rule: &PasscodeRule) -> Option<String> {
    let chars: Vec<char> = passcode.chars().collect();
    if chars.len() > 10 {
        return Some("Passcode can be at most 10 characters.".into());
    }
    if !chars
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || PASSCODE_SPECIALS.contains(*c))
    {
        return Some("Passcode may only contain letters, numbers and @ - _ * !".into());
    }
    if (chars.len() as u32) < rule.length {
        return Some(format!(
            "Passcode must be at least {} characters.",
            rule.length
        ));
    }
    if rule.only_allow_numeric && !chars.iter().all(|c| c.is_ascii_digit()) {
        return Some("Passcode must be numeric.".into());
    }
    if rule.have_letter && !chars.iter().any(|c| c.is_ascii_alphabetic()) {
        return Some("Passcode must contain a letter.".into());
    }
    if rule.have_number && !chars.iter().any(|c| c.is_ascii_digit()) {
        return Some("Passcode must contain a number.".into());
    }
    if rule.have_special_character && !chars.iter().any(|c| PASSCODE_SPECIALS.contains(*c)) {
        return Some("Passcode must contain a special character.".into());
    }
    if rule.have_upper_and_lower_characters
        && !(chars.iter().any(|c| c.is_ascii_uppercase())
            && chars.iter().any(|c| c.is_ascii_lowercase()))
    {
        return Some("Passcode must contain upper and lower case letters.".into());
    }
    None
}

fn generate_passcode(rule: &PasscodeRule) -> String {
    let len = rule.length.clamp(6, 10) as usize;
    loop {
        let candidate = if rule.only_allow_numeric {
            (0..len)
                .map(|_| char::from(b'0' + rand::random::<u8>() % 10))
                .collect()
        } else {
            random_secret(len)
        };
        if passcode_problem(&candidate, rule).is_none() {
            return candidate;
        }
    }
}

/// `yyyy-MM-ddTHH:mm:ssZ`, or local `yyyy-MM-ddTHH:mm:ss` in `timezone`.
fn parse_start(start: &str, timezone: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(start) {
        return Some(t.with_timezone(&Utc));
    }
    let local = NaiveDateTime::parse_from_str(start, "%Y-%m-%dT%H:%M:%S").ok()?;
    let tz: chrono_tz::Tz = timezone.parse().ok()?;
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn meeting_json(state: &SimState, m: &Meeting, with_start_url: bool) -> Value {
    let base = state.public_url();
    let mut value = json!({
        "id": m.id,
        "uuid": m.uuid,
        "host_id": m.host_id,
        "host_email": m.host_email,
        "topic": m.topic,
        "type": m.kind,
        "status": "waiting",
        "start_time": m.start_time,
        "duration": m.duration,
        "timezone": m.timezone,
        "agenda": m.agenda,
        "created_at": m.created_at,
        "join_url": format!("{base}/j/{}?pwd={}", m.id, encode(&m.password)),
        "password": m.password,
        "h323_password": m.password,
        "pstn_password": m.password,
        "encrypted_password": random_secret(32),
        "pre_schedule": false,
        "settings": {
            "host_video": true,
            "participant_video": true,
            "join_before_host": m.join_before_host,
            "waiting_room": m.waiting_room,
            "mute_upon_entry": false,
            "approval_type": 2,
            "audio": "both",
            "auto_recording": "none",
            "meeting_authentication": false,
        },
    });
    if with_start_url {
        // A fresh host key on every read, as Zoom's start links carry a short-lived ZAK.
        value["start_url"] = json!(format!("{base}/s/{}?zak={}", m.id, random_secret(40)));
    }
    value
}

/// Counts a create or update against the host's daily quota (100 by default, reset 00:00 UTC).
fn daily_quota(state: &mut SimState, host_id: &str) -> Result<(), ApiError> {
    let day = now().div_euclid(86_400);
    let limit = state.config.daily_meeting_limit;
    let used = state.daily.entry((host_id.to_owned(), day)).or_insert(0);
    if *used >= limit {
        state.counters.rate_limited += 1;
        let midnight = Utc
            .timestamp_opt((day + 1) * 86_400, 0)
            .single()
            .map(iso)
            .unwrap_or_default();
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            429,
            &format!("You have exceeded the daily rate limit ({limit}) of Meeting Create/Update API requests permitted for this particular user. You may resume these requests at GMT 00:00:00."),
        )
        .header("x-ratelimit-category", "Medium")
        .header("x-ratelimit-type", "Daily-limit")
        .header("x-ratelimit-limit", limit)
        .header("x-ratelimit-remaining", 0)
        .header("retry-after", midnight));
    }
    *used += 1;
    Ok(())
}

struct MeetingFields {
    topic: Option<String>,
    kind: Option<i64>,
    start: Option<DateTime<Utc>>,
    duration: Option<i64>,
    timezone: Option<String>,
    agenda: Option<String>,
    password: Option<String>,
    waiting_room: Option<bool>,
    join_before_host: Option<bool>,
}

fn validation(message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, 300, message)
}

fn parse_fields(body: &str, rule: &PasscodeRule) -> Result<MeetingFields, ApiError> {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(body) else {
        return Err(validation("Request Body should be a valid JSON object."));
    };
    let text = |key: &str| map.get(key).and_then(Value::as_str).map(str::to_owned);
    let topic = text("topic");
    if topic.as_ref().is_some_and(|t| t.chars().count() > 200) {
        return Err(validation("Validation Failed. topic: max length 200"));
    }
    let agenda = text("agenda");
    if agenda.as_ref().is_some_and(|a| a.chars().count() > 2000) {
        return Err(validation("Validation Failed. agenda: max length 2000"));
    }
    let timezone = text("timezone");
    let start = match text("start_time") {
        None => None,
        Some(raw) => Some(
            parse_start(&raw, timezone.as_deref().unwrap_or("UTC"))
                .ok_or_else(|| validation("Validation Failed. start_time: invalid date-time"))?,
        ),
    };
    let password = text("password");
    if let Some(problem) = password.as_deref().and_then(|p| passcode_problem(p, rule)) {
        return Err(validation(&format!("Invalid passcode: {problem}")));
    }
    let settings = map.get("settings").and_then(Value::as_object);
    let flag = |key: &str| settings.and_then(|s| s.get(key)).and_then(Value::as_bool);
    Ok(MeetingFields {
        topic,
        kind: map.get("type").and_then(Value::as_i64),
        start,
        duration: map.get("duration").and_then(Value::as_i64),
        timezone,
        agenda,
        password,
        waiting_room: flag("waiting_room"),
        join_before_host: flag("join_before_host"),
    })
}

pub async fn create_meeting(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    Path(who): Path<String>,
    body: String,
) -> Result<Response, ApiError> {
    let mut state = shared.lock();
    let principal = authorize(&mut state, &headers, &query)?;
    let host = resolve_user(&state, &principal, &who)?;
    let fields = parse_fields(&body, &host.passcode_rule)?;
    daily_quota(&mut state, &host.id)?;
    let id = state.next_meeting;
    state.next_meeting += 1 + i64::from(rand::random::<u8>());
    let locked = state.config.locked_settings;
    let waiting_room = fields.waiting_room.unwrap_or(false) && !locked;
    let password = match fields.password {
        Some(password) if !locked => password,
        _ => generate_passcode(&host.passcode_rule),
    };
    let meeting = Meeting {
        id,
        uuid: format!("{}==", random_secret(22)),
        host_id: host.id.clone(),
        host_email: host.email.clone(),
        topic: fields.topic.unwrap_or_else(|| "Zoom meeting".into()),
        kind: fields.kind.unwrap_or(2),
        start_time: iso(fields.start.unwrap_or_else(Utc::now)),
        duration: fields.duration.unwrap_or(60),
        timezone: fields.timezone.unwrap_or_else(|| host.timezone.clone()),
        agenda: fields.agenda.unwrap_or_default(),
        password,
        created_at: iso(Utc::now()),
        waiting_room,
        // "If true, [waiting_room] disables join_before_host."
        join_before_host: !waiting_room && fields.join_before_host.unwrap_or(false),
        deleted: false,
    };
    let body = meeting_json(&state, &meeting, true);
    state.meetings.insert(id, meeting);
    state.counters.meetings_created += 1;
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

pub async fn list_meetings(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    Path(who): Path<String>,
) -> Result<Response, ApiError> {
    let mut state = shared.lock();
    let principal = authorize(&mut state, &headers, &query)?;
    let host = resolve_user(&state, &principal, &who)?;
    let meetings: Vec<Value> = state
        .meetings
        .values()
        .filter(|m| !m.deleted && m.host_id == host.id)
        .map(|m| {
            let full = meeting_json(&state, m, false);
            json!({
                "uuid": m.uuid, "id": m.id, "host_id": m.host_id, "topic": m.topic, "type": m.kind,
                "start_time": m.start_time, "duration": m.duration, "timezone": m.timezone,
                "agenda": m.agenda, "created_at": m.created_at, "join_url": full["join_url"],
            })
        })
        .collect();
    Ok(Json(json!({
        "page_size": 300,
        "total_records": meetings.len(),
        "next_page_token": "",
        "meetings": meetings,
    }))
    .into_response())
}

/// The meeting a path names, if it exists and this principal may touch it.
fn owned_meeting(
    state: &SimState,
    principal: &Principal,
    raw_id: &str,
) -> Result<Meeting, ApiError> {
    let Ok(id) = raw_id.parse::<i64>() else {
        return Err(validation("Invalid meeting id."));
    };
    let Some(meeting) = state.meetings.get(&id).filter(|m| !m.deleted) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            3001,
            &format!("Meeting {id} is not found or has expired."),
        ));
    };
    if let Principal::User { user_id, .. } = principal {
        if *user_id != meeting.host_id {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                3003,
                "You are not the meeting host.",
            ));
        }
    }
    Ok(meeting.clone())
}

pub async fn meeting(
    State(shared): State<Shared>,
    method: Method,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    Path(raw_id): Path<String>,
    body: String,
) -> Result<Response, ApiError> {
    let mut state = shared.lock();
    let principal = authorize(&mut state, &headers, &query)?;
    let meeting = owned_meeting(&state, &principal, &raw_id)?;
    Ok(match method {
        Method::GET => Json(meeting_json(&state, &meeting, true)).into_response(),
        Method::DELETE => {
            if let Some(m) = state.meetings.get_mut(&meeting.id) {
                m.deleted = true;
            }
            state.counters.meetings_deleted += 1;
            StatusCode::NO_CONTENT.into_response()
        }
        Method::PATCH => {
            let rule = state
                .user(&meeting.host_id)
                .map(|u| u.passcode_rule.clone())
                .unwrap_or_default();
            let fields = parse_fields(&body, &rule)?;
            daily_quota(&mut state, &meeting.host_id)?;
            let m = state
                .meetings
                .get_mut(&meeting.id)
                .expect("meeting exists under the lock");
            if let Some(v) = fields.topic {
                m.topic = v
            }
            if let Some(v) = fields.kind {
                m.kind = v
            }
            // "If the value is omitted or a date in the past, the API ignores this value."
            if let Some(v) = fields.start.filter(|t| *t > Utc::now()) {
                m.start_time = iso(v)
            }
            if let Some(v) = fields.duration {
                m.duration = v
            }
            if let Some(v) = fields.timezone {
                m.timezone = v
            }
            if let Some(v) = fields.agenda {
                m.agenda = v
            }
            if let Some(v) = fields.password {
                m.password = v
            }
            if let Some(v) = fields.waiting_room {
                m.waiting_room = v
            }
            if let Some(v) = fields.join_before_host {
                m.join_before_host = v && !m.waiting_room
            }
            state.counters.meetings_updated += 1;
            StatusCode::NO_CONTENT.into_response()
        }
        _ => StatusCode::METHOD_NOT_ALLOWED.into_response(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passcodes_follow_zoom_and_host_rules() {
        let strict = PasscodeRule {
            length: 8,
            have_letter: true,
            have_number: true,
            ..Default::default()
        };
        assert!(passcode_problem("abc12345", &strict).is_none());
        assert!(passcode_problem("abcdefgh", &strict).is_some());
        assert!(
            passcode_problem("abc1234567x", &strict).is_some(),
            "over 10"
        );
        assert!(
            passcode_problem("abc1234#", &strict).is_some(),
            "# not allowed"
        );
        assert!(passcode_problem(&generate_passcode(&strict), &strict).is_none());
    }

    #[test]
    fn start_times_are_utc_or_local_in_the_zone() {
        assert_eq!(
            iso(parse_start("2026-03-29T00:30:00Z", "UTC").unwrap()),
            "2026-03-29T00:30:00Z"
        );
        assert_eq!(
            iso(parse_start("2026-03-29T03:30:00", "Europe/Berlin").unwrap()),
            "2026-03-29T01:30:00Z"
        );
        assert!(parse_start("tomorrow", "UTC").is_none());
    }
}
