//! The one way to record what happened to patient data and to the clinic's settings (HIPAA
//! 164.312(b) audit controls). Actions and outcomes are enums, so an entry cannot be misspelt
//! and the admin's filters list exactly what can be found. `record` never drops a failure
//! silently: it logs it, and returns it so that a caller handing out a start or join link can
//! refuse the grant instead of letting a link leave unrecorded.

use crate::domain::Email;
use crate::error::AppError;
use crate::server::internal;
use crate::server::persistence::{now_unix, AuditEntry, AuditQuery, Db, NewAuditEntry, UserRecord};
use crate::types::audit::{csv_field, ActorFilter, AuditFilterFields, AuditPageView, AuditView};
pub use crate::types::audit::{Action, Outcome};

/// Who acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    User(i64),
    /// The meeting worker, acting on Zoom for a visit.
    System,
    /// Nobody logged in.
    Anonymous,
}

impl Actor {
    fn kind(self) -> &'static str {
        match self {
            Actor::User(_) => "user",
            Actor::System => "system",
            Actor::Anonymous => "anonymous",
        }
    }

    fn id(self) -> Option<i64> {
        match self {
            Actor::User(id) => Some(id),
            _ => None,
        }
    }
}

/// One entry. `subject` names what was acted on: a visit's public id, an account's email, or
/// `zoom` for the clinic's Zoom settings. Details never contain secrets.
#[derive(Debug, Clone)]
pub struct Entry {
    pub actor: Actor,
    pub action: Action,
    pub subject: String,
    pub outcome: Outcome,
    pub detail: Option<String>,
}

impl Entry {
    pub fn new(actor: Actor, action: Action, subject: impl Into<String>, outcome: Outcome) -> Self {
        Self {
            actor,
            action,
            subject: subject.into(),
            outcome,
            detail: None,
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    fn row(&self) -> NewAuditEntry<'_> {
        NewAuditEntry {
            actor_kind: self.actor.kind(),
            actor_id: self.actor.id(),
            action: self.action.as_str(),
            subject: &self.subject,
            outcome: self.outcome.as_str(),
            detail: self.detail.as_deref(),
        }
    }
}

/// The audit write failed; already logged where it happened.
#[derive(Debug)]
pub struct NotRecorded;

impl From<NotRecorded> for AppError {
    fn from(_: NotRecorded) -> Self {
        AppError::Internal
    }
}

/// Appends `entry`. A failure is logged here, once, and returned: callers that grant access
/// must refuse with it; others may go on (`.ok()`), the failure having been reported.
pub async fn record(db: &Db, entry: Entry) -> Result<(), NotRecorded> {
    crate::server::response_cache::capture(&entry, false);
    db.append_audit(entry.row()).await.map_err(|error| {
        tracing::error!(
            %error,
            action = entry.action.as_str(),
            outcome = entry.outcome.as_str(),
            "writing the audit log failed"
        );
        NotRecorded
    })
}

/// Records a refusal whose subject is not a real record (an id that does not parse or names
/// nothing): one row per actor, action, outcome and hour, counting the requests, so callers
/// cannot fill the table or write subjects of their choosing.
pub async fn record_counted(db: &Db, entry: Entry) -> Result<(), NotRecorded> {
    crate::server::response_cache::capture(&entry, true);
    let hour = now_unix() / 3600;
    let actor = entry
        .actor
        .id()
        .map_or_else(|| entry.actor.kind().to_owned(), |id| id.to_string());
    let bucket = format!(
        "{}:{}:{actor}:{hour}",
        entry.action.as_str(),
        entry.outcome.as_str()
    );
    let counted = Entry {
        subject: "(unknown)".into(),
        ..entry
    };
    db.count_audit(counted.row(), &bucket)
        .await
        .map_err(|error| {
            tracing::error!(%error, action = counted.action.as_str(), "writing the audit log failed");
            NotRecorded
        })
}

/// Entries per page on the admin's audit page.
pub const PAGE_SIZE: i64 = 100;

/// Turns the admin's parsed filters into a store query: dates are whole days in the admin's
/// zone, an actor is found by email (an unknown email matches nothing).
async fn query_for(
    db: &Db,
    admin: &UserRecord,
    filter: &AuditFilterFields,
) -> Result<Option<AuditQuery>, AppError> {
    let zone = admin.time_zone.map(|z| z.tz()).unwrap_or(chrono_tz::UTC);
    let day_start = |date: chrono::NaiveDate| {
        date.and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(zone).earliest())
            .map(|t| t.timestamp())
    };
    let mut query = AuditQuery {
        action: filter.action.clone(),
        subject: filter.visit.clone(),
        from: filter.from.and_then(day_start),
        until: filter.to.and_then(|d| d.succ_opt()).and_then(day_start),
        ..AuditQuery::default()
    };
    match &filter.actor {
        None => {}
        Some(ActorFilter::System) => query.actor_kind = Some("system"),
        Some(ActorFilter::Anonymous) => query.actor_kind = Some("anonymous"),
        Some(ActorFilter::Email(email)) => {
            let Ok(email) = Email::parse(email) else {
                return Ok(None);
            };
            match db
                .user_by_email(&email)
                .await
                .map_err(internal("finding an audit actor"))?
            {
                Some(user) => query.actor_id = Some(user.id),
                None => return Ok(None),
            }
        }
    }
    Ok(Some(query))
}

fn view(entry: AuditEntry, zone: chrono_tz::Tz) -> AuditView {
    AuditView {
        id: entry.id,
        at: entry.at,
        at_display: chrono::DateTime::from_timestamp(entry.at, 0)
            .map(|t| {
                t.with_timezone(&zone)
                    .format("%Y-%m-%d %H:%M:%S %Z")
                    .to_string()
            })
            .unwrap_or_default(),
        actor: entry.actor_email.unwrap_or(entry.actor_kind),
        action: entry.action,
        subject: entry.subject,
        outcome: entry.outcome,
        detail: entry.detail,
        count: entry.count,
    }
}

/// One page of entries matching `filter`, newest first, older than `before` when given.
#[tracing::instrument(skip_all, fields(user_id = admin.id))]
pub async fn search(
    db: &Db,
    admin: &UserRecord,
    filter: &AuditFilterFields,
    before: Option<i64>,
) -> Result<AuditPageView, AppError> {
    let Some(mut query) = query_for(db, admin, filter).await? else {
        return Ok(AuditPageView {
            entries: Vec::new(),
            next_before: None,
        });
    };
    query.before_id = before;
    // One more than a page tells whether another page follows.
    query.limit = PAGE_SIZE + 1;
    let mut entries = db
        .audit_entries(&query)
        .await
        .map_err(internal("reading the audit log"))?;
    let more = entries.len() as i64 > PAGE_SIZE;
    entries.truncate(PAGE_SIZE as usize);
    let next_before = more.then(|| entries.last().map(|e| e.id)).flatten();
    let zone = admin.time_zone.map(|z| z.tz()).unwrap_or(chrono_tz::UTC);
    Ok(AuditPageView {
        entries: entries.into_iter().map(|e| view(e, zone)).collect(),
        next_before,
    })
}

/// Every entry matching `filter` as CSV, newest first, read a page at a time. The export
/// itself is audited.
#[tracing::instrument(skip_all, fields(user_id = admin.id))]
pub async fn export_csv(
    db: &Db,
    admin: &UserRecord,
    filter: &AuditFilterFields,
) -> Result<String, AppError> {
    let mut out = String::from("id,at_utc,actor,action,subject,outcome,count,detail\r\n");
    let mut rows = 0usize;
    if let Some(mut query) = query_for(db, admin, filter).await? {
        query.limit = 1000;
        loop {
            let page = db
                .audit_entries(&query)
                .await
                .map_err(internal("reading the audit log"))?;
            let Some(last) = page.last() else { break };
            query.before_id = Some(last.id);
            for entry in page {
                rows += 1;
                let at = chrono::DateTime::from_timestamp(entry.at, 0)
                    .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                    .unwrap_or_default();
                let fields = [
                    entry.id.to_string(),
                    at,
                    entry.actor_email.unwrap_or(entry.actor_kind),
                    entry.action,
                    entry.subject,
                    entry.outcome,
                    entry.count.to_string(),
                    entry.detail.unwrap_or_default(),
                ];
                let line: Vec<_> = fields.iter().map(|f| csv_field(f)).collect();
                out.push_str(&line.join(","));
                out.push_str("\r\n");
            }
        }
    }
    let entry = Entry::new(
        Actor::User(admin.id),
        Action::AuditExport,
        "audit",
        Outcome::Ok,
    )
    .detail(format!("{rows} entries"));
    record(db, entry).await?;
    Ok(out)
}
