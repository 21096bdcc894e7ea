//! The mail worker: sends queued mails one at a time, each under a lease. A mail is marked
//! sent right after the server takes it; if the process dies between the two, the lease runs
//! out and that one mail goes again (README says so). 4xx answers and connection failures are
//! retried with backoff; a 5xx marks the mail failed with the server's reason.

use super::mailer::{Mailer, SendError};
use crate::server::persistence::{now_unix, Db, OutboxRow};
use crate::server::AppState;
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// About a day of retrying at the default backoff cap before a person is asked to look.
const MAX_ATTEMPTS: i64 = 150;

pub struct MailWorker {
    db: Db,
    mailer: Mailer,
    owner: String,
    lease: Duration,
    retry_max: Duration,
    wake: Arc<Notify>,
}

impl MailWorker {
    pub fn new(state: &AppState, mailer: Mailer) -> Self {
        Self {
            db: state.db.clone(),
            mailer,
            owner: format!("mail-{}-{}", std::process::id(), uuid::Uuid::new_v4()),
            lease: state.settings.mail.lease,
            retry_max: state.settings.mail.retry_max,
            wake: state.notify.wake_mail.clone(),
        }
    }

    pub async fn run(self) {
        loop {
            match self.db.due_mails(now_unix(), 20).await {
                Ok(mails) => {
                    for mail in mails {
                        self.deliver(mail).await;
                    }
                }
                Err(error) => tracing::warn!(%error, "reading the outbox failed"),
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(POLL_INTERVAL) => {}
            }
        }
    }

    async fn deliver(&self, mail: OutboxRow) {
        let now = now_unix();
        let lease_until = now + self.lease.as_secs() as i64;
        match self
            .db
            .claim_mail(mail.id, &self.owner, now, lease_until)
            .await
        {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::warn!(%error, "claiming a mail failed");
                return;
            }
        }
        let outcome = match self.mailer.send(&mail).await {
            Ok(()) => {
                tracing::info!(mail = mail.id, kind = %mail.kind, "mail sent");
                let recorded = self.db.mail_sent(mail.id, &self.owner).await;
                if matches!(mail.kind.as_str(), "sign_in_link" | "invitation") {
                    // SQLite keeps the old page with the link in its log until a checkpoint.
                    self.db.discard_old_pages().await.ok();
                }
                recorded
            }
            Err(SendError::Permanent(reason)) => {
                tracing::warn!(mail = mail.id, %reason, "mail refused; marked failed");
                self.db
                    .mail_not_sent(mail.id, &self.owner, true, now, &reason)
                    .await
            }
            Err(SendError::Transient(reason)) => {
                let attempts = mail.attempts + 1;
                let failed = attempts >= MAX_ATTEMPTS;
                let reason = if failed {
                    format!("gave up after {attempts} attempts: {reason}")
                } else {
                    reason
                };
                let due = now_unix() + backoff_secs(attempts, self.retry_max);
                tracing::info!(mail = mail.id, %reason, attempts, due, "mail will be retried");
                self.db
                    .mail_not_sent(mail.id, &self.owner, failed, due, &reason)
                    .await
            }
        };
        if let Err(error) = outcome {
            // The lease runs out and the mail is taken up again.
            tracing::error!(mail = mail.id, %error, "recording a mail's outcome failed");
        }
    }
}

/// Exponential backoff, capped, drawn from the upper half of its interval so that mails that
/// failed together do not all retry together.
fn backoff_secs(attempts: i64, cap: Duration) -> i64 {
    let cap = cap.as_secs().max(1) as i64;
    let ceiling = 1i64
        .checked_shl(attempts.clamp(0, 30) as u32)
        .unwrap_or(cap)
        .min(cap);
    let floor = (ceiling / 2).max(1);
    rand::thread_rng().gen_range(floor..=ceiling)
}
