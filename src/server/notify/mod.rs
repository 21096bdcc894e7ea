//! Notifications by mail: visit confirmations, changes, cancellations and reminders, each
//! with a calendar invitation. Mails are rendered when their cause happens and kept in a
//! durable outbox (`persistence::outbox`), which leased, retrying jobs send over SMTP
//! (`outbox`, `mailer`). Without an SMTP server the mails wait there, shown as not sent.

pub mod health;
pub mod ics;
pub mod links;
pub mod mailer;
pub mod outbox;
pub mod reminders;
pub mod templates;
pub mod visits;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// The time reminders are computed from: the system clock, moved only by the test control
/// (`TEST_CONTROLS`, never on a real install) so tests need not wait a day.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> i64 {
        crate::server::persistence::now_unix() + self.offset.load(Ordering::Relaxed)
    }

    pub fn set(&self, now: i64) {
        let offset = now - crate::server::persistence::now_unix();
        self.offset.store(offset, Ordering::Relaxed);
    }
}

/// What requests need of the notifications: waking the workers, and the reminder clock.
#[derive(Debug, Clone, Default)]
pub struct Notifier {
    pub wake_mail: Arc<Notify>,
    pub wake_schedule: Arc<Notify>,
    pub clock: Clock,
    /// Reminders this instance already queued (key → visit start), so the scheduler's
    /// rounds skip them without touching the database; forgotten once the visit started.
    /// After a restart the outbox's unique keys keep them from being queued twice.
    pub reminded: Arc<std::sync::Mutex<std::collections::HashMap<String, i64>>>,
}

/// Starts the mail worker and the scheduler (reminders, announcements a crash left undone).
pub fn spawn(state: &crate::server::AppState) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = vec![tokio::spawn(visits::Scheduler::new(state).run())];
    match mailer::Mailer::new(&state.settings.mail) {
        Ok(Some(mailer)) => tasks.push(tokio::spawn(outbox::MailWorker::new(state, mailer).run())),
        Ok(None) => tracing::info!("no SMTP_URL: mail is kept in the outbox, not sent"),
        Err(error) => tracing::error!(%error, "mail cannot be sent; it is kept in the outbox"),
    }
    tasks
}

/// The outbox as the admin's page shows it.
pub async fn admin_outbox(
    state: &crate::server::AppState,
) -> Result<crate::types::mail::OutboxView, crate::error::AppError> {
    use crate::types::mail::{OutboxEntry, OutboxView};
    let rows = state
        .db
        .outbox(200)
        .await
        .map_err(crate::server::internal("listing the outbox"))?;
    Ok(OutboxView {
        entries: rows
            .into_iter()
            .map(|row| OutboxEntry {
                id: row.id,
                kind: row.kind,
                recipient: row.recipient,
                subject: row.subject,
                state: row.state,
                attempts: row.attempts,
                last_error: row.last_error,
                created_at: row.created_at,
                sent_at: row.sent_at,
                has_invite: row.ics.is_some(),
            })
            .collect(),
        smtp_configured: state.settings.mail.smtp.is_some(),
        show_bodies: state.settings.demo_mode,
    })
}

#[cfg(test)]
mod tests {
    use crate::server::config::{Settings, SmtpTls};

    fn load(pairs: &[(&str, &str)]) -> Result<Settings, String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain([("APP_CONFIG_FILE".into(), "/dev/null".into())])
            .collect();
        Settings::load(move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
        .map_err(|e| e.to_string())
    }

    #[test]
    fn smtp_urls_choose_tls_and_credentials_stay_out_of_them() {
        let mail = |url: &str| load(&[("SMTP_URL", url)]).map(|s| s.mail.smtp.unwrap());
        let tls = mail("smtps://mail.clinic.example").unwrap();
        assert_eq!((tls.tls, tls.port), (SmtpTls::Implicit, 465));
        let starttls = mail("smtp://mail.clinic.example").unwrap();
        assert_eq!((starttls.tls, starttls.port), (SmtpTls::StartTls, 587));
        let local = mail("smtp://127.0.0.1:2525").unwrap();
        assert_eq!((local.tls, local.port), (SmtpTls::Plain, 2525));
        assert!(mail("smtp://user:secret@mail.clinic.example")
            .unwrap_err()
            .contains("SMTP_USERNAME"));
        assert!(mail("http://mail.clinic.example").is_err());
        assert!(load(&[("SMTP_URL", "smtp://m.example"), ("SMTP_USERNAME", "u")]).is_err());
        assert!(load(&[]).unwrap().mail.smtp.is_none());
    }

    #[test]
    fn the_test_clock_is_only_for_loopback_installs() {
        assert!(load(&[("TEST_CONTROLS", "true")]).is_ok());
        assert!(load(&[
            ("TEST_CONTROLS", "true"),
            ("PUBLIC_URL", "https://visits.clinic.example")
        ])
        .unwrap_err()
        .contains("TEST_CONTROLS"));
    }
}
