//! Sign-in links by mail, for patients (staff too when `STAFF_SIGN_IN_LINKS=true`): a
//! single-use token valid for 15 minutes, stored only as its SHA-256. The request's answer is
//! the same whether or not the address belongs to anyone, and requests are throttled per
//! client address and per address asked for (known or not, so the 429 tells nothing either).

use super::templates::compose;
use crate::domain::{Email, Role, VisitId};
use crate::error::AppError;
use crate::server::audit::{self, Action, Actor, Entry, Outcome};
use crate::server::auth::{session, throttle::Attempts};
use crate::server::client_ip::throttle_key;
use crate::server::persistence::{now_unix, NewMail, ThrottleScope, UserRecord};
use crate::server::{internal, AppState};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use tower_sessions::Session;

pub const SIGN_IN_TTL_SECS: i64 = 15 * 60;
/// Links one address may be sent per `LOGIN_FAILURE_WINDOW_SECS`.
const PER_ACCOUNT: u32 = 3;
const PURPOSE: &str = "sign_in";

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Where a link may land: a visit's page or the visit list, nothing else (no open redirect).
pub fn safe_next(next: &str) -> Option<String> {
    match next.strip_prefix("/visits/") {
        Some(id) => VisitId::parse(id).ok().map(|id| format!("/visits/{id}")),
        None if next == "/visits" => Some(next.to_owned()),
        None => None,
    }
}

fn may_use_links(state: &AppState, user: &UserRecord) -> bool {
    user.active && (user.role == Role::Patient || state.settings.mail.staff_sign_in_links)
}

/// Handles "email me a sign-in link". Answers `Ok` for every well-formed address within the
/// limits; the link is made and queued in the background, so the answer takes as long for a
/// stranger's address as for a patient's.
pub async fn request(
    state: &AppState,
    client: std::net::IpAddr,
    email: &str,
    next: &str,
) -> Result<(), AppError> {
    let settings = &state.settings;
    let mut attempts = Attempts::new(&state.db, settings.login_failure_window);
    attempts
        .count(
            ThrottleScope::Address,
            &format!("link:{}", throttle_key(client)),
            settings.login_max_failures_per_address,
        )
        .await?;
    let email = Email::parse(email).map_err(|e| AppError::validation("email", e.0))?;
    attempts
        .count(
            ThrottleScope::Account,
            &format!("link:{}", email.as_str()),
            PER_ACCOUNT,
        )
        .await?;
    let state = state.clone();
    let next = safe_next(next);
    tokio::spawn(async move {
        if let Err(error) = send_link(&state, &email, next).await {
            tracing::error!(%error, "making a sign-in link failed");
        }
    });
    Ok(())
}

async fn send_link(
    state: &AppState,
    email: &Email,
    next: Option<String>,
) -> Result<(), crate::server::persistence::StoreError> {
    let Some(user) = state.db.user_by_email(email).await? else {
        return Ok(());
    };
    if !may_use_links(state, &user) {
        return Ok(());
    }
    let token = new_token();
    let hash = token_hash(&token);
    state
        .db
        .create_login_link(
            &hash,
            user.id,
            PURPOSE,
            next.as_deref(),
            now_unix() + SIGN_IN_TTL_SECS,
        )
        .await?;
    let url = format!("{}/api/auth/link?token={token}", state.settings.public_url);
    let greeting = match &user.display_name {
        Some(name) => format!("Hello {name},"),
        None => "Hello,".to_owned(),
    };
    let rendered = compose(
        "Your sign-in link".to_owned(),
        &greeting,
        &[
            "Use the link below to sign in to your video visits. It works once, within 15 minutes."
                .to_owned(),
            "If you did not ask for it, ignore this mail: nobody can sign in without the link."
                .to_owned(),
        ],
        ("Sign in", &url),
    );
    state
        .db
        .queue_mail(&NewMail {
            dedupe_key: format!("sign-in:{hash}"),
            kind: "sign_in_link",
            recipient: user.email.to_string(),
            subject: rendered.subject,
            body_text: rendered.text,
            body_html: rendered.html,
            ics: None,
        })
        .await?;
    state.notify.wake_mail.notify_one();
    Ok(())
}

/// Uses a link: signs its user in on this session and answers where to go. A used, expired
/// or unknown link is refused alike.
pub async fn sign_in(state: &AppState, session: &Session, token: &str) -> Result<String, AppError> {
    let refused = || {
        AppError::validation(
            "token",
            "This sign-in link has expired or was already used. Ask for a new one on the login page.",
        )
    };
    if token.is_empty() || token.len() > 100 {
        return Err(refused());
    }
    let used = state
        .db
        .use_login_link(&token_hash(token), PURPOSE, now_unix())
        .await
        .map_err(internal("using a sign-in link"))?;
    let Some((user_id, next)) = used else {
        let entry = Entry::new(Actor::Anonymous, Action::Login, "", Outcome::Refused)
            .detail("sign-in link unknown, used or expired");
        audit::record_counted(&state.db, entry).await.ok();
        return Err(refused());
    };
    let user = state
        .db
        .user_by_id(user_id)
        .await
        .map_err(internal("loading a user"))?
        .filter(|user| may_use_links(state, user))
        .ok_or_else(refused)?;
    session::log_in(session, &user).await?;
    let entry = Entry::new(
        Actor::User(user.id),
        Action::Login,
        user.email.as_str(),
        Outcome::Ok,
    )
    .detail("sign-in link");
    audit::record(&state.db, entry).await.ok();
    Ok(next.unwrap_or_else(|| "/".to_owned()))
}

/// How long an invitation to set a password stays valid.
pub const INVITE_TTL_SECS: i64 = 72 * 3600;
const INVITE: &str = "invite";

/// Mails a patient whom staff created without a password a single-use link to set one.
pub async fn invite(state: &AppState, user: &UserRecord) -> Result<(), AppError> {
    let token = new_token();
    let hash = token_hash(&token);
    state
        .db
        .create_login_link(&hash, user.id, INVITE, None, now_unix() + INVITE_TTL_SECS)
        .await
        .map_err(internal("saving an invitation"))?;
    let url = format!(
        "{}/api/auth/invite?token={token}",
        state.settings.public_url
    );
    let greeting = match &user.display_name {
        Some(name) => format!("Hello {name},"),
        None => "Hello,".to_owned(),
    };
    let rendered = compose(
        "Your account for video visits".to_owned(),
        &greeting,
        &[
            "Your clinic has made you an account for its video visits. Choose your password with the link below; it works once, within 3 days."
                .to_owned(),
            "Later you can also sign in with a link sent to this address.".to_owned(),
        ],
        ("Choose your password", &url),
    );
    state
        .db
        .queue_mail(&NewMail {
            dedupe_key: format!("invite:{hash}"),
            kind: "invitation",
            recipient: user.email.to_string(),
            subject: rendered.subject,
            body_text: rendered.text,
            body_html: rendered.html,
            ics: None,
        })
        .await
        .map_err(internal("queueing an invitation"))?;
    state.notify.wake_mail.notify_one();
    Ok(())
}

/// Uses an invitation: sets the password, signs the patient in, answers where to go. The
/// password is checked and hashed before the link is spent, so a refused password leaves the
/// link usable.
pub async fn accept_invitation(
    state: &AppState,
    session: &Session,
    token: &str,
    password: &str,
) -> Result<String, AppError> {
    let password = crate::domain::NewPassword::parse(password)
        .map_err(|e| AppError::validation("password", e.0))?;
    let hash = state
        .hashing
        .hash(password)
        .await
        .map_err(|e| e.into_app_error("hashing a password"))?;
    let refused = || {
        AppError::validation(
            "token",
            "This invitation has expired or was already used. Ask the clinic for a new one, or use \"Email me a sign-in link\" on the login page.",
        )
    };
    if token.is_empty() || token.len() > 100 {
        return Err(refused());
    }
    let used = state
        .db
        .use_login_link(&token_hash(token), INVITE, now_unix())
        .await
        .map_err(internal("using an invitation"))?;
    let Some((user_id, _)) = used else {
        return Err(refused());
    };
    state
        .db
        .set_password(user_id, &hash)
        .await
        .map_err(internal("setting a password"))?;
    let user = state
        .db
        .user_by_id(user_id)
        .await
        .map_err(internal("loading a user"))?
        .filter(|u| u.active)
        .ok_or_else(refused)?;
    session::log_in(session, &user).await?;
    let entry = Entry::new(
        Actor::User(user.id),
        Action::PasswordChange,
        user.email.as_str(),
        Outcome::Ok,
    )
    .detail("set from an invitation");
    audit::record(&state.db, entry).await.ok();
    Ok("/".to_owned())
}

/// A password nobody knows, for an invited patient until they choose their own.
pub fn unusable_password() -> String {
    format!("{}{}", new_token(), new_token())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_land_only_on_visit_pages() {
        assert_eq!(
            safe_next("/visits/abcdefghijABCDEFGHIJ12").as_deref(),
            Some("/visits/abcdefghijABCDEFGHIJ12")
        );
        assert_eq!(safe_next("/visits").as_deref(), Some("/visits"));
        for evil in [
            "//evil.example",
            "https://evil.example",
            "/visits/../admin",
            "/admin",
            "",
        ] {
            assert_eq!(safe_next(evil), None, "{evil}");
        }
    }

    #[test]
    fn tokens_are_random_and_stored_as_their_hash() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }
}
