//! Zoom's REST API under `/v2`: users, user settings, meetings. Shapes and status codes follow
//! Zoom's OpenAPI spec; errors are `{code, message}` as Zoom sends them.

use super::state::{
    now, random_secret, HostSettings, Meeting, MeetingSettings, PasscodeRule, Principal,
    SentRequest, SimState, SimUser,
};
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

/// What each call needs, as (classic, granular) scope names for a user-managed app; an
/// account (Server-to-Server) token needs the same with `:admin` appended.
#[derive(Clone, Copy)]
pub enum Call {
    ReadUser,
    ReadUserSettings,
    CreateMeeting,
    ListMeetings,
    ReadMeeting,
    UpdateMeeting,
    DeleteMeeting,
}

impl Call {
    fn scopes(self) -> (&'static str, &'static str) {
        match self {
            Call::ReadUser => ("user:read", "user:read:user"),
            Call::ReadUserSettings => ("user:read", "user:read:settings"),
            Call::CreateMeeting => ("meeting:write", "meeting:write:meeting"),
            Call::ListMeetings => ("meeting:read", "meeting:read:list_meetings"),
            Call::ReadMeeting => ("meeting:read", "meeting:read:meeting"),
            Call::UpdateMeeting => ("meeting:write", "meeting:update:meeting"),
            Call::DeleteMeeting => ("meeting:write", "meeting:delete:meeting"),
        }
    }
}

/// Zoom's answer to a token without the scope a call needs: code 4711, reported by third
/// parties with HTTP 400 (Zoom documents no status: clients must key on the code).
fn require_scope(
    state: &mut SimState,
    principal: &Principal,
    scopes: &str,
    call: Call,
) -> Result<(), ApiError> {
    let (classic, granular) = call.scopes();
    let suffix = if *principal == Principal::Account {
        ":admin"
    } else {
        ""
    };
    let (classic, granular) = (format!("{classic}{suffix}"), format!("{granular}{suffix}"));
    let granted: Vec<&str> = scopes.split_whitespace().collect();
    if granted.contains(&classic.as_str()) || granted.contains(&granular.as_str()) {
        return Ok(());
    }
    state.counters.scope_refusals += 1;
    // A granular app is told the granular name, a classic one the classic name.
    let is_granular = granted
        .iter()
        .any(|s| s.trim_end_matches(":admin").split(':').count() >= 3);
    let missing = if is_granular { granular } else { classic };
    Err(ApiError::new(
        StatusCode::BAD_REQUEST,
        4711,
        &format!("Invalid access token, does not contain scopes:[{missing}]."),
    ))
}

/// Authenticates, checks the scope `call` needs and applies the account's per-second limit.
fn authorize(
    state: &mut SimState,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    call: Call,
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
    let (principal, scopes) = state.authenticate(token.trim()).ok_or_else(invalid_token)?;
    state.counters.api_requests += 1;
    require_scope(state, &principal, &scopes, call)?;
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
        "type": user.user_type,
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
    let principal = authorize(&mut state, &headers, &query, Call::ReadUser)?;
    let user = resolve_user(&state, &principal, &who)?;
    Ok(Json(user_json(&user)).into_response())
}

/// `GET /users/{id}/settings`, or with `?option=meeting_security` only that group (where
/// Zoom reports `embed_password_in_join_link`, `encryption_type`, `waiting_room` and
/// `only_authenticated_can_join_from_webclient`). AI Companion defaults appear under
/// `in_meeting`; where real Zoom reports them is not documented in the 2023 spec, so the app
/// also checks every meeting it reads back.
pub async fn get_user_settings(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    Path(who): Path<String>,
) -> Result<Response, ApiError> {
    let mut state = shared.lock();
    let principal = authorize(&mut state, &headers, &query, Call::ReadUserSettings)?;
    let user = resolve_user(&state, &principal, &who)?;
    let d = &user.settings;
    let security = json!({
        "embed_password_in_join_link": d.embed_password_in_join_link,
        "encryption_type": d.encryption_type,
        "waiting_room": d.waiting_room,
        "only_authenticated_can_join_from_webclient": d.only_authenticated_can_join_from_webclient,
        "meeting_password_requirement": user.passcode_rule,
        "require_password_for_scheduled_meeting": true,
    });
    if query.get("option").map(String::as_str) == Some("meeting_security") {
        return Ok(Json(json!({ "meeting_security": security })).into_response());
    }
    Ok(Json(json!({
        "schedule_meeting": {
            "host_video": d.host_video,
            "participants_video": d.participant_video,
            "join_before_host": d.join_before_host,
            "embed_password_in_join_link": d.embed_password_in_join_link,
            "require_password_for_scheduling_new_meetings": true,
            "meeting_password_requirement": user.passcode_rule,
            "continuous_meeting_chat": { "enable": d.continuous_meeting_chat },
            "use_pmi_for_scheduled_meetings": d.use_pmi,
            "mute_upon_entry": d.mute_upon_entry,
        },
        "in_meeting": {
            "waiting_room": d.waiting_room,
            "e2e_encryption": d.encryption_type == "e2ee",
            "auto_start_meeting_summary": d.auto_start_meeting_summary,
            "auto_start_ai_companion_questions": d.auto_start_ai_companion_questions,
        },
        "recording": {
            "auto_recording": d.auto_recording,
            "cloud_recording": true,
            "local_recording": true,
        },
        "meeting_security": security,
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
        "status": m.status,
        "start_time": m.start_time,
        "duration": m.duration,
        "timezone": m.timezone,
        "agenda": m.agenda,
        "created_at": m.created_at,
        "join_url": if state.host_settings_of(m).embed_password_in_join_link {
            format!("{base}/j/{}?pwd={}", m.id, encode(&m.password))
        } else {
            format!("{base}/j/{}", m.id)
        },
        "password": m.password,
        "h323_password": m.password,
        "pstn_password": m.password,
        "encrypted_password": random_secret(32),
        "pre_schedule": false,
        "settings": {
            "host_video": m.settings.host_video,
            "participant_video": m.settings.participant_video,
            "join_before_host": m.settings.join_before_host,
            "waiting_room": m.settings.waiting_room,
            "mute_upon_entry": m.settings.mute_upon_entry,
            "approval_type": m.settings.approval_type,
            "audio": "both",
            "auto_recording": m.settings.auto_recording,
            "meeting_authentication": m.settings.meeting_authentication,
            "encryption_type": m.settings.encryption_type,
            "auto_start_meeting_summary": m.settings.auto_start_meeting_summary,
            "auto_start_ai_companion_questions": m.settings.auto_start_ai_companion_questions,
            "who_will_receive_summary": m.settings.who_will_receive_summary,
            "continuous_meeting_chat": { "enable": m.settings.continuous_meeting_chat },
            "private_meeting": m.settings.private_meeting,
            "use_pmi": m.settings.use_pmi,
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
    settings: serde_json::Map<String, Value>,
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
    let settings = map
        .get("settings")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    Ok(MeetingFields {
        topic,
        kind: map.get("type").and_then(Value::as_i64),
        start,
        duration: map.get("duration").and_then(Value::as_i64),
        timezone,
        agenda,
        password,
        settings,
    })
}

/// What a meeting gets for each setting: a locked one keeps the host's value, one the request
/// names takes the request's value, and one it omits takes the host's default (Zoom's rule
/// since 2026-03-15). `base` is the meeting's current settings on an update.
fn apply_settings(
    host: &HostSettings,
    account_locks_waiting_room: bool,
    base: MeetingSettings,
    sent: &serde_json::Map<String, Value>,
) -> MeetingSettings {
    let locked = |name: &str| host.locked.contains(name);
    let flag = |name: &str, current: bool, default: bool| {
        if locked(name) {
            default
        } else {
            sent.get(name).and_then(Value::as_bool).unwrap_or(current)
        }
    };
    let text = |name: &str, current: &str, default: &str| {
        if locked(name) {
            default.to_owned()
        } else {
            sent.get(name)
                .and_then(Value::as_str)
                .unwrap_or(current)
                .to_owned()
        }
    };
    let number = |name: &str, current: i64, default: i64| {
        if locked(name) {
            default
        } else {
            sent.get(name).and_then(Value::as_i64).unwrap_or(current)
        }
    };
    let chat = sent
        .get("continuous_meeting_chat")
        .and_then(|c| c.get("enable"))
        .and_then(Value::as_bool);
    let mut out = MeetingSettings {
        waiting_room: flag("waiting_room", base.waiting_room, host.waiting_room),
        join_before_host: flag(
            "join_before_host",
            base.join_before_host,
            host.join_before_host,
        ),
        auto_recording: text("auto_recording", &base.auto_recording, &host.auto_recording),
        auto_start_meeting_summary: flag(
            "auto_start_meeting_summary",
            base.auto_start_meeting_summary,
            host.auto_start_meeting_summary,
        ),
        auto_start_ai_companion_questions: flag(
            "auto_start_ai_companion_questions",
            base.auto_start_ai_companion_questions,
            host.auto_start_ai_companion_questions,
        ),
        who_will_receive_summary: number(
            "who_will_receive_summary",
            base.who_will_receive_summary,
            host.who_will_receive_summary,
        ),
        encryption_type: text(
            "encryption_type",
            &base.encryption_type,
            &host.encryption_type,
        ),
        meeting_authentication: flag(
            "meeting_authentication",
            base.meeting_authentication,
            host.meeting_authentication,
        ),
        continuous_meeting_chat: if locked("continuous_meeting_chat") {
            host.continuous_meeting_chat
        } else {
            chat.unwrap_or(base.continuous_meeting_chat)
        },
        approval_type: number("approval_type", base.approval_type, host.approval_type),
        private_meeting: flag(
            "private_meeting",
            base.private_meeting,
            host.private_meeting,
        ),
        use_pmi: flag("use_pmi", base.use_pmi, host.use_pmi),
        host_video: flag("host_video", base.host_video, host.host_video),
        participant_video: flag(
            "participant_video",
            base.participant_video,
            host.participant_video,
        ),
        mute_upon_entry: flag(
            "mute_upon_entry",
            base.mute_upon_entry,
            host.mute_upon_entry,
        ),
    };
    if account_locks_waiting_room {
        out.waiting_room = false;
    }
    // "If true, [waiting_room] disables join_before_host"; end-to-end encryption does too.
    if out.waiting_room || out.encryption_type == "e2ee" {
        out.join_before_host = false;
    }
    out
}

/// A host's defaults as a new meeting's starting point.
fn defaults_of(host: &HostSettings) -> MeetingSettings {
    MeetingSettings {
        waiting_room: host.waiting_room,
        join_before_host: host.join_before_host,
        auto_recording: host.auto_recording.clone(),
        auto_start_meeting_summary: host.auto_start_meeting_summary,
        auto_start_ai_companion_questions: host.auto_start_ai_companion_questions,
        who_will_receive_summary: host.who_will_receive_summary,
        encryption_type: host.encryption_type.clone(),
        meeting_authentication: host.meeting_authentication,
        continuous_meeting_chat: host.continuous_meeting_chat,
        approval_type: host.approval_type,
        private_meeting: host.private_meeting,
        use_pmi: host.use_pmi,
        host_video: host.host_video,
        participant_video: host.participant_video,
        mute_upon_entry: host.mute_upon_entry,
    }
}

/// Keeps what the app sent, for tests that check request bodies against Zoom's spec.
fn remember(state: &mut SimState, method: &str, path: String, body: &str) {
    if state.sent.len() >= 2000 {
        state.sent.remove(0);
    }
    let body = serde_json::from_str(body).unwrap_or(Value::Null);
    state.sent.push(SentRequest {
        method: method.to_owned(),
        path,
        body,
    });
}

pub async fn create_meeting(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    Path(who): Path<String>,
    body: String,
) -> Result<Response, ApiError> {
    let mut state = shared.lock();
    let principal = authorize(&mut state, &headers, &query, Call::CreateMeeting)?;
    let host = resolve_user(&state, &principal, &who)?;
    remember(&mut state, "POST", format!("/users/{who}/meetings"), &body);
    let fields = parse_fields(&body, &host.passcode_rule)?;
    daily_quota(&mut state, &host.id)?;
    let id = state.next_meeting;
    state.next_meeting += 1 + i64::from(rand::random::<u8>());
    let locked = state.config.locked_settings;
    let settings = apply_settings(
        &host.settings,
        locked,
        defaults_of(&host.settings),
        &fields.settings,
    );
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
        settings,
        status: "waiting".into(),
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
    let principal = authorize(&mut state, &headers, &query, Call::ListMeetings)?;
    let host = resolve_user(&state, &principal, &who)?;
    // Zoom's pages: `page_size` records (default 30, at most 300), and a `next_page_token`
    // whenever more remain; the token carries where the next page starts.
    let page_size = match query.get("page_size") {
        None => 30,
        Some(raw) => raw
            .parse::<usize>()
            .map_err(|_| validation("Invalid field: page_size."))?
            .clamp(1, 300),
    };
    let offset = match query.get("next_page_token").filter(|t| !t.is_empty()) {
        None => 0,
        Some(token) => page_offset(token)
            .ok_or_else(|| validation("The next page token is invalid or expired."))?,
    };
    let all: Vec<&Meeting> = state
        .meetings
        .values()
        .filter(|m| !m.deleted && m.host_id == host.id)
        .collect();
    let total = all.len();
    let next_page_token = if offset + page_size < total {
        format!("{}{:08x}", random_secret(24), offset + page_size)
    } else {
        String::new()
    };
    let meetings: Vec<Value> = all
        .into_iter()
        .skip(offset)
        .take(page_size)
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
        "page_size": page_size,
        "page_count": total.div_ceil(page_size),
        "total_records": total,
        "next_page_token": next_page_token,
        "meetings": meetings,
    }))
    .into_response())
}

/// Where the page a `next_page_token` names starts: 24 random characters, then the offset
/// in 8 hex digits (opaque to callers, as Zoom's tokens are).
fn page_offset(token: &str) -> Option<usize> {
    let digits = token
        .get(24..)
        .filter(|d| d.len() == 8 && token.len() == 32)?;
    usize::from_str_radix(digits, 16).ok()
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
    let call = match method {
        Method::PATCH => Call::UpdateMeeting,
        Method::DELETE => Call::DeleteMeeting,
        _ => Call::ReadMeeting,
    };
    let principal = authorize(&mut state, &headers, &query, call)?;
    let meeting = owned_meeting(&state, &principal, &raw_id)?;
    if method == Method::PATCH {
        remember(&mut state, "PATCH", format!("/meetings/{raw_id}"), &body);
    }
    Ok(match method {
        Method::GET => Json(meeting_json(&state, &meeting, true)).into_response(),
        Method::DELETE => {
            match meeting.status.as_str() {
                "started" => {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        3002,
                        "Sorry, you cannot delete this meeting since it is in progress.",
                    ))
                }
                "ended" => {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        3007,
                        "Sorry, you cannot delete this meeting since it has ended.",
                    ))
                }
                _ => {}
            }
            if let Some(m) = state.meetings.get_mut(&meeting.id) {
                m.deleted = true;
            }
            state.counters.meetings_deleted += 1;
            StatusCode::NO_CONTENT.into_response()
        }
        Method::PATCH => {
            let host = state.user(&meeting.host_id).cloned();
            let rule = host
                .as_ref()
                .map(|u| u.passcode_rule.clone())
                .unwrap_or_default();
            let host_settings = host.map(|u| u.settings).unwrap_or_default();
            let fields = parse_fields(&body, &rule)?;
            let locked = state.config.locked_settings;
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
            if let Some(v) = fields.password.filter(|_| !locked) {
                m.password = v
            }
            m.settings =
                apply_settings(&host_settings, locked, m.settings.clone(), &fields.settings);
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
