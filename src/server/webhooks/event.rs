//! Zoom's webhook envelope, parsed at the boundary (FACTS §7): `{"event", "event_ts" (ms),
//! "payload": {"account_id", "object": {…}}}`. Only what the app acts on is kept; names and
//! emails of participants are never read.

use chrono::DateTime;
use serde_json::Value;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetingEvent {
    JoinedWaitingRoom,
    LeftWaitingRoom,
    Admitted,
    Started,
    Ended,
    Deleted,
    Updated,
}

impl MeetingEvent {
    pub fn parse(event: &str) -> Option<Self> {
        Some(match event {
            "meeting.participant_joined_waiting_room" => Self::JoinedWaitingRoom,
            "meeting.participant_left_waiting_room" => Self::LeftWaitingRoom,
            "meeting.participant_admitted" => Self::Admitted,
            "meeting.started" => Self::Started,
            "meeting.ended" => Self::Ended,
            "meeting.deleted" => Self::Deleted,
            "meeting.updated" => Self::Updated,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// Zoom checks the endpoint: answer with the token, HMAC'd.
    UrlValidation { plain_token: String },
    Meeting {
        kind: MeetingEvent,
        meeting_id: Option<i64>,
        uuid: Option<String>,
        host_id: Option<String>,
        /// When it happened (ms): the participant's `date_time` if given, else `event_ts`.
        happened_at: i64,
    },
    /// A user removed the app: their data must go.
    Deauthorized { user_id: String },
    /// An event we do not act on: acknowledged and counted.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub event: String,
    /// Milliseconds since the epoch.
    pub event_ts: i64,
    pub account_id: Option<String>,
    pub body: Body,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub &'static str);

/// Zoom sends the meeting id as a string in some events and a number in others.
fn meeting_id(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn text(value: &Value) -> Option<String> {
    value
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 256)
        .map(str::to_owned)
}

impl Envelope {
    pub fn parse(raw: &[u8]) -> Result<Self, Malformed> {
        let value: Value = serde_json::from_slice(raw).map_err(|_| Malformed("not JSON"))?;
        let event = text(&value["event"]).ok_or(Malformed("no event name"))?;
        let payload = value
            .get("payload")
            .filter(|p| p.is_object())
            .ok_or(Malformed("no payload"))?;
        if event == "endpoint.url_validation" {
            let plain_token = text(&payload["plainToken"]).ok_or(Malformed("no plainToken"))?;
            return Ok(Self {
                event,
                event_ts: value["event_ts"].as_i64().unwrap_or_default(),
                account_id: None,
                body: Body::UrlValidation { plain_token },
            });
        }
        let event_ts = value["event_ts"]
            .as_i64()
            .filter(|ts| *ts > 0)
            .ok_or(Malformed("no event_ts"))?;
        let account_id = text(&payload["account_id"]);
        let body = if let Some(kind) = MeetingEvent::parse(&event) {
            let object = payload
                .get("object")
                .filter(|o| o.is_object())
                .ok_or(Malformed("no object"))?;
            let meeting_id = meeting_id(&object["id"]);
            let uuid = text(&object["uuid"]);
            if meeting_id.is_none() && uuid.is_none() {
                return Err(Malformed("no meeting id"));
            }
            let happened_at = object["participant"]["date_time"]
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.timestamp_millis())
                .unwrap_or(event_ts);
            Body::Meeting {
                kind,
                meeting_id,
                uuid,
                host_id: text(&object["host_id"]),
                happened_at,
            }
        } else if event == "app_deauthorized" {
            let user_id = text(&payload["user_id"]).ok_or(Malformed("no user_id"))?;
            Body::Deauthorized { user_id }
        } else {
            Body::Other
        };
        Ok(Self {
            event,
            event_ts,
            account_id,
            body,
        })
    }

    /// Zoom delivers at least once: the same event, meeting (or user) and time is the same
    /// delivery. Hashed, so the key itself holds nothing of the Zoom user.
    pub fn dedup_key(&self) -> String {
        let subject = match &self.body {
            Body::Meeting {
                uuid, meeting_id, ..
            } => uuid
                .clone()
                .or_else(|| meeting_id.map(|id| id.to_string()))
                .unwrap_or_default(),
            Body::Deauthorized { user_id } => user_id.clone(),
            Body::UrlValidation { .. } | Body::Other => String::new(),
        };
        let digest = Sha256::digest(format!("{}\n{subject}\n{}", self.event, self.event_ts));
        super::signature::hex(&digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_meeting_id_may_be_a_string_or_a_number() {
        for id in [r#""85746065432""#, "85746065432"] {
            let raw = format!(
                r#"{{"event":"meeting.started","event_ts":1700000000123,"payload":{{"account_id":"acc","object":{{"id":{id},"uuid":"abc==","host_id":"zu_1"}}}}}}"#
            );
            let envelope = Envelope::parse(raw.as_bytes()).unwrap();
            assert_eq!(
                envelope.body,
                Body::Meeting {
                    kind: MeetingEvent::Started,
                    meeting_id: Some(85746065432),
                    uuid: Some("abc==".into()),
                    host_id: Some("zu_1".into()),
                    happened_at: 1700000000123,
                }
            );
        }
    }

    #[test]
    fn waiting_room_events_take_the_participants_time() {
        let raw = br#"{"event":"meeting.participant_joined_waiting_room","event_ts":1700000009000,"payload":{"account_id":"a","object":{"id":"1","uuid":"u","participant":{"user_name":"P","date_time":"2023-11-14T22:13:20Z"}}}}"#;
        let envelope = Envelope::parse(raw).unwrap();
        let Body::Meeting { happened_at, .. } = envelope.body else {
            panic!("not a meeting event");
        };
        assert_eq!(happened_at, 1_700_000_000_000);
    }

    #[test]
    fn malformed_envelopes_are_refused() {
        for raw in [
            &b"not json"[..],
            br#"{"payload":{}}"#,
            br#"{"event":"meeting.started","payload":{"object":{"id":"1"}}}"#,
            br#"{"event":"meeting.started","event_ts":1,"payload":{"object":{}}}"#,
            br#"{"event":"app_deauthorized","event_ts":1,"payload":{}}"#,
        ] {
            assert!(
                Envelope::parse(raw).is_err(),
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn redeliveries_share_a_key_and_other_events_do_not() {
        let at = |ts: i64, event: &str| {
            let raw = format!(
                r#"{{"event":"{event}","event_ts":{ts},"payload":{{"object":{{"id":1,"uuid":"u"}}}}}}"#
            );
            Envelope::parse(raw.as_bytes()).unwrap().dedup_key()
        };
        assert_eq!(at(1, "meeting.ended"), at(1, "meeting.ended"));
        assert_ne!(at(1, "meeting.ended"), at(2, "meeting.ended"));
        assert_ne!(at(1, "meeting.ended"), at(1, "meeting.started"));
    }
}
