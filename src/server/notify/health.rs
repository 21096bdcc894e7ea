//! Zoom connection health: each connected doctor's connection is checked daily and again
//! within the hour before each of their visits (a cheap call that also renews the tokens). A
//! broken one (revoked, reconnect needed, missing scopes) mails the doctor and the admins
//! what to do, once per problem: a new mail only when the problem changes or comes back.

use super::templates::compose;
use crate::domain::Role;
use crate::server::persistence::{NewMail, StoreResult, ZoomHealth};
use crate::server::video::{HostId, ProviderError};
use crate::server::AppState;

const DAY: i64 = 86_400;
const BEFORE_VISIT: i64 = 3600;

/// Whether a doctor's connection is due for a check at `now`: a day since the last check, or
/// a visit starts within the hour and the last check came before that hour.
pub fn check_due(last_checked: Option<i64>, next_visit: Option<i64>, now: i64) -> bool {
    let Some(checked) = last_checked else {
        return true;
    };
    if now - checked >= DAY {
        return true;
    }
    next_visit.is_some_and(|start| start - BEFORE_VISIT <= now && checked < start - BEFORE_VISIT)
}

/// The problem a check answer means (None: healthy); Err for "could not tell" (Zoom down).
fn problem_of(answer: Result<(), ProviderError>) -> Result<Option<&'static str>, ()> {
    match answer {
        Ok(()) => Ok(None),
        Err(ProviderError::ReconnectNeeded) => Ok(Some("reconnect")),
        Err(ProviderError::MissingScopes(_)) => Ok(Some("scopes")),
        Err(ProviderError::BadCredentials) => Ok(Some("credentials")),
        Err(ProviderError::NotFound) => Ok(Some("user")),
        Err(_) => Err(()),
    }
}

fn advice(problem: &str) -> &'static str {
    match problem {
        "reconnect" => "The doctor's Zoom connection was revoked or has expired. The doctor must open the Zoom page and click Connect Zoom again; until then no new visit gets a meeting.",
        "scopes" => "The clinic's Zoom app lacks permissions the visits need. An administrator must add the missing scopes to the Zoom app, then the doctor reconnects.",
        "credentials" => "Zoom refused the clinic's app credentials. An administrator must check the Zoom settings.",
        _ => "Zoom does not know the doctor's Zoom user. An administrator must check the doctor's Zoom mapping.",
    }
}

/// Checks every connected doctor whose check is due at `now`. Returns the warnings queued.
pub async fn check_connections(state: &AppState, now: i64) -> StoreResult<usize> {
    let mut warned = 0;
    for connection in state.db.zoom_connections().await? {
        let doctor_id = connection.user_id;
        let last = state.db.zoom_health(doctor_id).await?;
        if last.is_none() {
            // Just connected (or first seen): healthy by definition, checked from now on.
            let health = ZoomHealth {
                problem: None,
                since: now,
                checked_at: now,
            };
            state.db.record_zoom_health(doctor_id, &health).await?;
            continue;
        }
        let next = state.db.next_visit_start(doctor_id, now).await?;
        if !check_due(last.as_ref().map(|h| h.checked_at), next, now) {
            continue;
        }
        let answer = state.video.check_host(HostId(doctor_id)).await.map(|_| ());
        let Ok(problem) = problem_of(answer) else {
            continue;
        };
        let problem = problem.map(str::to_owned);
        let since = match &last {
            Some(last) if last.problem == problem => last.since,
            _ => now,
        };
        let health = ZoomHealth {
            problem: problem.clone(),
            since,
            checked_at: now,
        };
        state.db.record_zoom_health(doctor_id, &health).await?;
        let Some(problem) = problem else { continue };
        if since != now {
            continue;
        }
        warned += warn(state, doctor_id, &problem, since).await?;
    }
    if warned > 0 {
        state.notify.wake_mail.notify_one();
    }
    Ok(warned)
}

async fn warn(state: &AppState, doctor_id: i64, problem: &str, since: i64) -> StoreResult<usize> {
    let Some(doctor) = state.db.user_by_id(doctor_id).await? else {
        return Ok(0);
    };
    let name = doctor
        .display_name
        .as_ref()
        .map(|n| n.to_string())
        .unwrap_or_else(|| doctor.email.to_string());
    let mut recipients = vec![(doctor.email.to_string(), "/zoom")];
    for user in state.db.list_users().await? {
        if user.active && user.role == Role::Admin {
            recipients.push((user.email.to_string(), "/admin/zoom"));
        }
    }
    let mut queued = 0;
    for (to, page) in recipients {
        let url = format!("{}{page}", state.settings.public_url);
        let rendered = compose(
            format!("Action needed: Zoom connection of {name}"),
            "Hello,",
            &[
                format!("A check of the Zoom connection of {name} found a problem."),
                advice(problem).to_owned(),
            ],
            ("Open the Zoom page", &url),
        );
        let mail = NewMail {
            dedupe_key: format!("zoom-health:{doctor_id}:{problem}:{since}:{to}"),
            kind: "zoom_warning",
            recipient: to,
            subject: rendered.subject,
            body_text: rendered.text,
            body_html: rendered.html,
            ics: None,
        };
        if state.db.queue_mail(&mail).await? {
            queued += 1;
        }
    }
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::check_due;

    #[test]
    fn checks_are_due_daily_and_within_the_hour_before_a_visit() {
        let now = 1_900_000_000;
        assert!(check_due(None, None, now));
        assert!(!check_due(Some(now - 100), None, now));
        assert!(check_due(Some(now - 86_400), None, now));
        // A visit in 30 minutes, last checked two hours ago: due; checked since: not.
        assert!(check_due(Some(now - 7200), Some(now + 1800), now));
        assert!(!check_due(Some(now - 600), Some(now + 1800), now));
        // A visit in three hours: not yet.
        assert!(!check_due(Some(now - 7200), Some(now + 3 * 3600), now));
    }
}
