//! Password guessing limits, for the login and for the password change's current-password
//! check. Each attempt is counted as a failure *before* the password is checked (see
//! `Db::count_login_attempt`), and taken back only when the check succeeds or never runs.

use crate::error::AppError;
use crate::server::internal;
use crate::server::persistence::{Counted, Db, ThrottleScope};
use std::time::Duration;

/// The attempts one request has counted so far.
pub struct Attempts<'a> {
    db: &'a Db,
    window_secs: i64,
    counted: Vec<i64>,
}

impl<'a> Attempts<'a> {
    pub fn new(db: &'a Db, window: Duration) -> Self {
        Self {
            db,
            window_secs: window.as_secs() as i64,
            counted: Vec::new(),
        }
    }

    /// Counts this attempt against `subject`, or answers 429 when that would exceed `limit`
    /// (taking back what this request counted so far: it never ran).
    pub async fn count(
        &mut self,
        scope: ThrottleScope,
        subject: &str,
        limit: u32,
    ) -> Result<(), AppError> {
        let counted = self
            .db
            .count_login_attempt(scope, subject, self.window_secs, limit)
            .await
            .map_err(internal("counting a login attempt"))?;
        match counted {
            Counted::Within(id) => {
                self.counted.push(id);
                Ok(())
            }
            Counted::Over { retry_after_secs } => {
                self.withdraw().await?;
                Err(AppError::RateLimited {
                    retry_after_secs: retry_after_secs as u64,
                })
            }
        }
    }

    /// The password was right, or was never checked: none of these attempts is a failure.
    pub async fn withdraw(&mut self) -> Result<(), AppError> {
        for id in std::mem::take(&mut self.counted) {
            self.db
                .withdraw_login_attempt(id)
                .await
                .map_err(internal("withdrawing a login attempt"))?;
        }
        Ok(())
    }
}
