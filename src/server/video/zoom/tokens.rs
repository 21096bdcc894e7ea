//! Token lifecycle. Zoom rotates refresh tokens: the moment a refresh succeeds, the old refresh
//! token is dead. Two refreshes racing therefore kill the grant, so there is at most one
//! refresh in flight per grant across every request and every app instance:
//! - within a process, a per-grant async mutex queues callers;
//! - across processes, the refresher first claims a short lease on the database row (an
//!   UPDATE guarded by the row's `version`), and commits the new tokens with compare-and-swap
//!   on that same version *before* using them. Everyone else waits for the version to move.
//!
//! On `invalid_grant` the stored row is read again: another instance may have rotated it.

use super::api::ZoomError;
use super::{store_error, AppSettings, ZoomProvider};
use crate::server::crypto::{CryptoError, Purpose};
use crate::server::persistence::now_unix;
use crate::server::video::{HostId, ProviderError};
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Renew user tokens this long before Zoom's expiry, so a request never starts with a token
/// that dies mid-flight.
const USER_REFRESH_AHEAD_SECS: i64 = 120;
/// The account token is shared by everything; renewed only within 5 minutes of expiry.
const ACCOUNT_REFRESH_AHEAD_SECS: i64 = 300;
/// The shortest refresh lease, whatever the request timeout.
const MIN_LEASE_SECS: i64 = 30;
/// Waiting for another refresher: its lease, plus this.
const WAIT_MARGIN: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(100);

/// The refresh lease for a request timeout of `timeout`: longer than a refresh can take (the
/// token request, and the commit after it, each bounded by the timeout, plus a margin), so a
/// refresher never loses its lease while its request can still succeed at Zoom; a crashed
/// refresher's lease lapses.
pub(crate) fn refresh_lease_secs(timeout: Duration) -> i64 {
    let derived = i64::try_from(timeout.as_secs().saturating_mul(2))
        .unwrap_or(i64::MAX / 2)
        .saturating_add(10);
    derived.max(MIN_LEASE_SECS)
}

/// A sealed token that cannot be opened. Under a key this process does not hold (a rotation
/// half done, or an old key dropped too soon), the doctor must connect again: not a storage
/// failure.
fn open_error(error: CryptoError) -> ProviderError {
    match error {
        CryptoError::UnknownKey(key) => {
            tracing::warn!(
                key = %key,
                "a Zoom token is sealed under a key this server does not hold; reconnect needed"
            );
            ProviderError::ReconnectNeeded
        }
        // Sealed for another row (a token copied from another doctor's row) or altered: it
        // is of no use to anyone, and reconnecting is what fixes it.
        CryptoError::Tampered => {
            tracing::warn!("a Zoom token does not open for its row; reconnect needed");
            ProviderError::ReconnectNeeded
        }
        other => store_error(other),
    }
}

#[derive(Debug, Default)]
pub(super) struct TokenLocks {
    per_host: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
    account: tokio::sync::Mutex<()>,
}

impl TokenLocks {
    fn for_host(&self, host: HostId) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self
            .per_host
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.entry(host.0).or_default().clone()
    }
}

impl ZoomProvider {
    fn wait_for_other_refresher(&self) -> Duration {
        Duration::from_secs(self.lease_secs.unsigned_abs()) + WAIT_MARGIN
    }

    /// A usable access token for the doctor's own grant, its version, and the user to act as.
    /// `rejected_version`: Zoom refused the token of that version, so it must not be reused.
    pub(super) async fn user_token(
        &self,
        settings: &AppSettings,
        host: HostId,
        rejected_version: Option<i64>,
    ) -> Result<(SecretString, i64, String), ProviderError> {
        let lock = self.tokens.for_host(host);
        let _queued = lock.lock().await;
        let deadline = Instant::now() + self.wait_for_other_refresher();
        loop {
            let row = self
                .db
                .zoom_connection(host.0)
                .await
                .map_err(store_error)?
                .ok_or(ProviderError::NotConnected)?;
            if row.reconnect_needed {
                return Err(ProviderError::ReconnectNeeded);
            }
            if row
                .settings_fp
                .as_deref()
                .is_some_and(|fp| fp != settings.user_fp)
                // `settings` may be older than the grant (the doctor reconnected under new
                // settings meanwhile): judge by the settings stored now.
                && row.settings_fp != Some(self.settings().await?.user_fp)
            {
                // A grant of another Zoom app than the one configured now (the admin changed
                // it, maybe while this grant was being refreshed): useless, as if absent.
                self.db
                    .mark_reconnect_needed(
                        host.0,
                        row.version,
                        "The clinic's Zoom app changed; connect Zoom again",
                    )
                    .await
                    .map_err(store_error)?;
                return Err(ProviderError::ReconnectNeeded);
            }
            let now = now_unix();
            let rejected = rejected_version.is_some_and(|v| v >= row.version);
            if !rejected && row.access_expires_at - USER_REFRESH_AHEAD_SECS > now {
                let token = self
                    .keyring
                    .open(&row.access_token_enc, Purpose::ZoomAccessToken, host.0)
                    .map_err(open_error)?;
                return Ok((token, row.version, "me".to_owned()));
            }
            let claimed = row.refresh_lease_until < now
                && self
                    .db
                    .claim_refresh_lease(host.0, row.version, self.lease_secs)
                    .await
                    .map_err(store_error)?;
            if !claimed {
                if Instant::now() > deadline {
                    return Err(ProviderError::Unavailable(
                        "waiting for a Zoom token refresh timed out".into(),
                    ));
                }
                tokio::time::sleep(POLL).await;
                continue;
            }

            let refresh_token =
                match self
                    .keyring
                    .open(&row.refresh_token_enc, Purpose::ZoomRefreshToken, host.0)
                {
                    Ok(token) => token,
                    Err(error) => {
                        self.db
                            .release_refresh_lease(host.0, row.version)
                            .await
                            .map_err(store_error)?;
                        return Err(open_error(error));
                    }
                };
            match self.api.refresh(&settings.creds, &refresh_token).await {
                Ok(grant) => {
                    let Some(new_refresh) = grant.refresh_token else {
                        self.db
                            .release_refresh_lease(host.0, row.version)
                            .await
                            .map_err(store_error)?;
                        return Err(ProviderError::Unavailable(
                            "Zoom issued no refresh token".into(),
                        ));
                    };
                    // Committed before use: if we crashed after using the new access token
                    // without storing the new refresh token, the grant would be lost.
                    let committed = self
                        .db
                        .commit_refresh(
                            host.0,
                            row.version,
                            self.keyring.seal(
                                grant.access_token.expose_secret(),
                                Purpose::ZoomAccessToken,
                                host.0,
                            ),
                            self.keyring.seal(
                                new_refresh.expose_secret(),
                                Purpose::ZoomRefreshToken,
                                host.0,
                            ),
                            now_unix() + grant.expires_in,
                            &grant.scope,
                            &settings.user_fp,
                        )
                        .await
                        .map_err(store_error)?;
                    if !committed {
                        // The doctor reconnected meanwhile; the newer grant wins.
                        continue;
                    }
                    tracing::info!(
                        host = host.0,
                        version = row.version + 1,
                        "Zoom tokens rotated"
                    );
                    return Ok((grant.access_token, row.version + 1, "me".to_owned()));
                }
                Err(ZoomError::InvalidGrant(_)) => {
                    let current = self.db.zoom_connection(host.0).await.map_err(store_error)?;
                    if current.as_ref().is_some_and(|c| c.version != row.version) {
                        continue;
                    }
                    self.db
                        .mark_reconnect_needed(
                            host.0,
                            row.version,
                            "Zoom no longer accepts this connection",
                        )
                        .await
                        .map_err(store_error)?;
                    tracing::warn!(
                        host = host.0,
                        "Zoom refused the refresh token; reconnect needed"
                    );
                    return Err(ProviderError::ReconnectNeeded);
                }
                Err(other) => {
                    self.db
                        .release_refresh_lease(host.0, row.version)
                        .await
                        .map_err(store_error)?;
                    return Err(other.into());
                }
            }
        }
    }

    /// The Server-to-Server account token shared by every request and instance.
    pub(super) async fn account_token(
        &self,
        settings: &AppSettings,
        rejected_version: Option<i64>,
    ) -> Result<(SecretString, i64), ProviderError> {
        let (token, version, _) = self.account_token_full(settings, rejected_version).await?;
        Ok((token, version))
    }

    /// The scopes of a freshly issued account token: the admin's *Test connection* must see
    /// scopes just added in the Zoom Marketplace, which a cached token would not carry.
    pub(super) async fn fresh_account_token_scope(
        &self,
        settings: &AppSettings,
    ) -> Result<String, ProviderError> {
        let current = self.db.account_token().await.map_err(store_error)?.version;
        let (_, _, scope) = self.account_token_full(settings, Some(current)).await?;
        Ok(scope)
    }

    async fn account_token_full(
        &self,
        settings: &AppSettings,
        rejected_version: Option<i64>,
    ) -> Result<(SecretString, i64, String), ProviderError> {
        let account_id = settings
            .account_id
            .clone()
            .ok_or(ProviderError::NotConfigured)?;
        let _queued = self.tokens.account.lock().await;
        let deadline = Instant::now() + self.wait_for_other_refresher();
        loop {
            let row = self.db.account_token().await.map_err(store_error)?;
            let now = now_unix();
            let rejected = rejected_version.is_some_and(|v| v >= row.version);
            // A token of other settings than the current ones (fetched under the old
            // credentials while the admin saved new ones) counts as absent.
            let ours = row.settings_fp.as_deref() == Some(settings.account_fp.as_str());
            if let Some(sealed) = row.access_token_enc.as_ref().filter(|_| ours) {
                if !rejected && row.expires_at - ACCOUNT_REFRESH_AHEAD_SECS > now {
                    match self
                        .keyring
                        .open(sealed, Purpose::ZoomAccountAccessToken, 1)
                    {
                        Ok(token) => {
                            return Ok((token, row.version, row.scope.clone().unwrap_or_default()))
                        }
                        // Under a key this process does not hold: fetch a new one.
                        Err(CryptoError::UnknownKey(_)) => {}
                        Err(other) => return Err(store_error(other)),
                    }
                }
            }
            let claimed = row.lease_until < now
                && self
                    .db
                    .claim_account_token_lease(row.version, self.lease_secs)
                    .await
                    .map_err(store_error)?;
            if !claimed {
                if Instant::now() > deadline {
                    return Err(ProviderError::Unavailable(
                        "waiting for a Zoom account token timed out".into(),
                    ));
                }
                tokio::time::sleep(POLL).await;
                continue;
            }
            match self.api.account_token(&settings.creds, &account_id).await {
                Ok(grant) => {
                    let committed = self
                        .db
                        .commit_account_token(
                            row.version,
                            self.keyring.seal(
                                grant.access_token.expose_secret(),
                                Purpose::ZoomAccountAccessToken,
                                1,
                            ),
                            now_unix() + grant.expires_in,
                            &grant.scope,
                            &settings.account_fp,
                        )
                        .await
                        .map_err(store_error)?;
                    if !committed {
                        continue;
                    }
                    tracing::info!(version = row.version + 1, "Zoom account token renewed");
                    return Ok((grant.access_token, row.version + 1, grant.scope));
                }
                Err(error) => {
                    self.db
                        .release_account_token_lease(row.version)
                        .await
                        .map_err(store_error)?;
                    return Err(match error {
                        ZoomError::InvalidGrant(_) => ProviderError::BadCredentials,
                        other => other.into(),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refresh_lease_outlasts_a_refresh_whatever_the_timeout() {
        for secs in [1u64, 15, 30, 40, 120, 600] {
            let lease = refresh_lease_secs(Duration::from_secs(secs));
            assert!(
                lease > 2 * secs as i64,
                "timeout {secs}s, lease {lease}s: a refresh could outlive its lease"
            );
            assert!(lease >= MIN_LEASE_SECS);
        }
    }

    #[test]
    fn a_token_under_an_unknown_key_or_for_another_row_means_reconnect_needed() {
        assert!(matches!(
            open_error(CryptoError::UnknownKey("k-gone".into())),
            ProviderError::ReconnectNeeded
        ));
        assert!(matches!(
            open_error(CryptoError::Tampered),
            ProviderError::ReconnectNeeded
        ));
        assert!(matches!(
            open_error(CryptoError::Malformed),
            ProviderError::Unavailable(_)
        ));
    }
}
