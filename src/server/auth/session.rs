//! What a login session holds and how it ends. The session record lives in the database
//! (`DbSessionStore`); the cookie carries only its random id.

use crate::error::AppError;
use crate::server::internal;
use crate::server::persistence::{
    now_unix, Db, DbSessionStore, UserRecord, UserSnapshot, USER_SNAPSHOT,
};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use std::time::Duration;
use tower_sessions::session::Id;
use tower_sessions::{Session, SessionStore};

const USER_ID: &str = "uid";
const EPOCH: &str = "epoch";
const LOGIN_AT: &str = "login_at";
const SEEN_AT: &str = "seen_at";

/// Starts a fresh session for `user`. The id is cycled first so a session id planted or
/// observed before login (session fixation) is worthless afterwards: the old record is deleted.
pub async fn log_in(session: &Session, user: &UserRecord) -> Result<(), AppError> {
    session
        .cycle_id()
        .await
        .map_err(internal("cycling the session id"))?;
    session.clear().await;
    let now = now_unix();
    session
        .insert(USER_ID, user.id)
        .await
        .map_err(internal("writing the session"))?;
    session
        .insert(EPOCH, user.session_epoch)
        .await
        .map_err(internal("writing the session"))?;
    session
        .insert(LOGIN_AT, now)
        .await
        .map_err(internal("writing the session"))?;
    session
        .insert(SEEN_AT, now)
        .await
        .map_err(internal("writing the session"))?;
    Ok(())
}

/// Ends the session on the server; the cookie is then worthless even if kept.
pub async fn log_out(session: &Session) -> Result<(), AppError> {
    session
        .flush()
        .await
        .map_err(internal("deleting the session"))
}

/// After a password change: the current session follows the new epoch, every other session
/// of that user stops working at its next request.
pub async fn adopt_epoch(session: &Session, epoch: i64) -> Result<(), AppError> {
    session
        .insert(EPOCH, epoch)
        .await
        .map_err(internal("writing the session"))
}

/// The user behind this session, if it belongs to an active account whose password has not
/// changed since login. Anything else ends the session.
pub async fn current_user(session: &Session, db: &Db) -> Result<Option<UserRecord>, AppError> {
    let user_id: Option<i64> = session
        .get(USER_ID)
        .await
        .map_err(internal("reading the session"))?;
    let Some(user_id) = user_id else {
        return Ok(None);
    };
    let epoch: Option<i64> = session
        .get(EPOCH)
        .await
        .map_err(internal("reading the session"))?;
    let valid =
        |user: &UserRecord| user.id == user_id && user.active && Some(user.session_epoch) == epoch;
    // The user as the store read it with this request's session, in the same query. When it
    // does not fit (this request logged in or changed the password since), read it afresh.
    let snapshot: Option<UserSnapshot> = session.get(USER_SNAPSHOT).await.unwrap_or(None);
    if let Some(user) = snapshot.and_then(UserSnapshot::into_record) {
        if valid(&user) {
            return Ok(Some(user));
        }
    }
    let user = db
        .user_by_id(user_id)
        .await
        .map_err(internal("loading the session user"))?;
    match user {
        Some(user) if valid(&user) => Ok(Some(user)),
        _ => {
            log_out(session).await?;
            Ok(None)
        }
    }
}

/// Enforces the idle and absolute timeouts on every request, whatever the cookie's lifetime
/// says: a session idle too long, or older than the absolute limit, is deleted.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub idle: Duration,
    pub absolute: Duration,
}

/// Requests that are not the person doing something: the push stream and the pages'
/// background re-reads after a push. They are held to the timeouts like any other request but
/// do not refresh the activity mark, or an open tab would keep its session alive forever.
pub const PASSIVE_PATHS: &[&str] = &["/api/events", "/api/live/"];

pub fn is_passive(path: &str) -> bool {
    PASSIVE_PATHS.iter().any(|p| path.starts_with(p))
}

pub async fn enforce_timeouts(timeouts: Timeouts, request: Request, next: Next) -> Response {
    if let Some(session) = request.extensions().get::<Session>().cloned() {
        let active = !is_passive(request.uri().path());
        if let Err(error) = check_timeouts(&session, timeouts, active).await {
            tracing::error!(%error, "session timeout check failed");
        }
    }
    next.run(request).await
}

async fn check_timeouts(
    session: &Session,
    timeouts: Timeouts,
    active: bool,
) -> Result<(), tower_sessions::session::Error> {
    let Some(login_at) = session.get::<i64>(LOGIN_AT).await? else {
        return Ok(());
    };
    let seen_at = session.get::<i64>(SEEN_AT).await?.unwrap_or(login_at);
    let now = now_unix();
    let idle_for = now.saturating_sub(seen_at);
    if now.saturating_sub(login_at) >= timeouts.absolute.as_secs() as i64
        || idle_for >= timeouts.idle.as_secs() as i64
    {
        return session.flush().await;
    }
    // Writing on every request would cost a database write per page; refreshing the activity
    // mark a few times per idle period keeps the timeout accurate to a quarter of it.
    let refresh_after = (timeouts.idle.as_secs() as i64 / 4).clamp(1, 60);
    if active && idle_for >= refresh_after {
        session.insert(SEEN_AT, now).await?;
    }
    Ok(())
}

/// Where a session stands, read afresh from the store rather than from the copy a request
/// loaded: for the push stream, which lives far longer than a request and must end when the
/// session does (idle, absolute limit, logout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub user_id: i64,
    pub epoch: Option<i64>,
    /// Until the idle or the absolute limit, whichever comes first.
    pub seconds_left: i64,
}

pub async fn standing(
    store: &DbSessionStore,
    id: &Id,
    timeouts: Timeouts,
) -> Result<Option<Standing>, AppError> {
    let record = store
        .load(id)
        .await
        .map_err(internal("reading the session"))?;
    let Some(record) = record else {
        return Ok(None);
    };
    let number = |key: &str| record.data.get(key).and_then(|v| v.as_i64());
    let (Some(user_id), Some(login_at)) = (number(USER_ID), number(LOGIN_AT)) else {
        return Ok(None);
    };
    let seen_at = number(SEEN_AT).unwrap_or(login_at);
    let ends = (seen_at + timeouts.idle.as_secs() as i64)
        .min(login_at + timeouts.absolute.as_secs() as i64);
    let seconds_left = ends - now_unix();
    Ok((seconds_left > 0).then_some(Standing {
        user_id,
        epoch: number(EPOCH),
        seconds_left,
    }))
}

/// Seconds until this request's session ends for idleness or age (for the logoff warning).
pub async fn seconds_left(session: &Session, timeouts: Timeouts) -> Result<i64, AppError> {
    let read = |e| internal("reading the session")(e);
    let login_at = session.get::<i64>(LOGIN_AT).await.map_err(read)?;
    let Some(login_at) = login_at else {
        return Err(AppError::Unauthorized);
    };
    let seen_at = session
        .get::<i64>(SEEN_AT)
        .await
        .map_err(read)?
        .unwrap_or(login_at);
    let ends = (seen_at + timeouts.idle.as_secs() as i64)
        .min(login_at + timeouts.absolute.as_secs() as i64);
    Ok((ends - now_unix()).max(0))
}
