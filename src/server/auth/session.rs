//! What a login session holds and how it ends. The session record lives in the database
//! (`DbSessionStore`); the cookie carries only its random id.

use crate::error::AppError;
use crate::server::internal;
use crate::server::persistence::{now_unix, Db, UserRecord};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use std::time::Duration;
use tower_sessions::Session;

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
    let user = db
        .user_by_id(user_id)
        .await
        .map_err(internal("loading the session user"))?;
    match user {
        Some(user) if user.active && Some(user.session_epoch) == epoch => Ok(Some(user)),
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

pub async fn enforce_timeouts(timeouts: Timeouts, request: Request, next: Next) -> Response {
    if let Some(session) = request.extensions().get::<Session>().cloned() {
        if let Err(error) = check_timeouts(&session, timeouts).await {
            tracing::error!(%error, "session timeout check failed");
        }
    }
    next.run(request).await
}

async fn check_timeouts(
    session: &Session,
    timeouts: Timeouts,
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
    if idle_for >= refresh_after {
        session.insert(SEEN_AT, now).await?;
    }
    Ok(())
}
