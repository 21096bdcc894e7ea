//! Tells open browser tabs that a visit changed, so pages update without polling. Anything
//! that changes a visit (a request, the meeting worker, a Zoom webhook) publishes its id;
//! each tab's stream checks, per event, whether its caller may see that visit before
//! passing it on, and the page then re-reads the visit through the usual server functions.
//!
//! Two hubs: `raw` carries row ids as published on this instance (and, on PostgreSQL, as
//! published on every other instance through `NOTIFY`); one resolver task per instance looks
//! each id up once (its public id, doctor and patient) and puts the result on `resolved`, so
//! a thousand open streams filter in memory instead of each querying the database.

use crate::server::config::{DatabaseBackend, DatabaseUrl};
use crate::server::persistence::Db;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;

/// How many changes a slow tab may fall behind before it is told to reload everything.
const BACKLOG: usize = 1024;
/// The PostgreSQL channel every instance listens on.
const CHANNEL: &str = "telehealth_visits";
/// Previous doctors remembered per visit, so a doctor who lost a visit hears of it too.
const REMEMBERED: usize = 50_000;

/// One visit changed, by its row id (the stream checks access with it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitChanged {
    pub appointment_id: i64,
}

/// What the streams receive: a visit with the people it concerns, or "you may have missed
/// something, re-read everything" (a lagging resolver, a lost database connection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Visit {
        public_id: String,
        doctor_id: i64,
        /// The doctor it had before, when a change of doctor took it away from them.
        previous_doctor: Option<i64>,
        patient_id: i64,
    },
    Resync,
}

#[derive(Debug, Clone)]
pub struct Push {
    sender: broadcast::Sender<VisitChanged>,
    resolved: broadcast::Sender<Change>,
    /// Set on PostgreSQL: changes also go to the other instances.
    relay: Arc<OnceLock<mpsc::UnboundedSender<i64>>>,
    /// Tells our own notifications apart from other instances' (we deliver ours directly).
    instance: Arc<str>,
}

impl Default for Push {
    fn default() -> Self {
        Self::new()
    }
}

impl Push {
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(BACKLOG);
        let (resolved, _) = broadcast::channel(BACKLOG);
        Self {
            sender,
            resolved,
            relay: Arc::default(),
            instance: uuid::Uuid::new_v4().simple().to_string().into(),
        }
    }

    /// Announces a change on this instance (and through the database to the others). Nobody
    /// listening is not an error.
    pub fn visit_changed(&self, appointment_id: i64) {
        let _ = self.sender.send(VisitChanged { appointment_id });
        if let Some(relay) = self.relay.get() {
            let _ = relay.send(appointment_id);
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<VisitChanged> {
        self.sender.subscribe()
    }

    /// The resolved changes, for the browser streams.
    pub fn changes(&self) -> broadcast::Receiver<Change> {
        self.resolved.subscribe()
    }

    /// Starts this instance's resolver and, on PostgreSQL, the `NOTIFY` sender and the
    /// `LISTEN` receiver. The tasks run until aborted.
    pub fn start(&self, db: &Db, database_url: &DatabaseUrl) -> Vec<JoinHandle<()>> {
        let mut tasks = vec![tokio::spawn(resolve(
            self.sender.subscribe(),
            self.resolved.clone(),
            db.clone(),
        ))];
        if db.backend() == DatabaseBackend::Postgres {
            let (relay, outgoing) = mpsc::unbounded_channel();
            if self.relay.set(relay).is_ok() {
                tasks.push(tokio::spawn(notify(
                    outgoing,
                    db.clone(),
                    self.instance.clone(),
                )));
                tasks.push(tokio::spawn(listen(
                    database_url.clone(),
                    self.instance.clone(),
                    self.sender.clone(),
                    self.resolved.clone(),
                )));
            }
        }
        tasks
    }
}

async fn resolve(
    mut raw: broadcast::Receiver<VisitChanged>,
    resolved: broadcast::Sender<Change>,
    db: Db,
) {
    let mut doctors: HashMap<i64, i64> = HashMap::new();
    loop {
        let id = match raw.recv().await {
            Ok(change) => change.appointment_id,
            Err(broadcast::error::RecvError::Lagged(_)) => {
                let _ = resolved.send(Change::Resync);
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        match db.visit_parties(id).await {
            Ok(Some(parties)) => {
                if doctors.len() >= REMEMBERED {
                    doctors.clear();
                }
                let previous = doctors
                    .insert(id, parties.doctor_id)
                    .filter(|d| *d != parties.doctor_id);
                let _ = resolved.send(Change::Visit {
                    public_id: parties.public_id,
                    doctor_id: parties.doctor_id,
                    previous_doctor: previous,
                    patient_id: parties.patient_id,
                });
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, appointment = id, "resolving a visit change failed");
                let _ = resolved.send(Change::Resync);
            }
        }
    }
}

async fn notify(mut outgoing: mpsc::UnboundedReceiver<i64>, db: Db, instance: Arc<str>) {
    while let Some(id) = outgoing.recv().await {
        if let Err(error) = db
            .notify_visit_changed(CHANNEL, &format!("{instance}:{id}"))
            .await
        {
            tracing::warn!(%error, appointment = id, "publishing a visit change failed");
        }
    }
}

async fn listen(
    url: DatabaseUrl,
    instance: Arc<str>,
    local: broadcast::Sender<VisitChanged>,
    resolved: broadcast::Sender<Change>,
) {
    use sqlx::postgres::PgListener;
    loop {
        let mut listener = match PgListener::connect(url.expose()).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "listening for visit changes failed; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                continue;
            }
        };
        if let Err(error) = listener.listen(CHANNEL).await {
            tracing::warn!(%error, "listening for visit changes failed; retrying");
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            continue;
        }
        // Whatever happened while we were not listening is unknown: the tabs re-read.
        let _ = resolved.send(Change::Resync);
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    let Some((from, id)) = notification.payload().split_once(':') else {
                        continue;
                    };
                    if from == &*instance {
                        continue;
                    }
                    if let Ok(appointment_id) = id.parse() {
                        let _ = local.send(VisitChanged { appointment_id });
                    }
                }
                // The connection dropped; the listener reconnects on the next call.
                Ok(None) => {
                    let _ = resolved.send(Change::Resync);
                }
                Err(error) => {
                    tracing::warn!(%error, "the visit change listener failed; reconnecting");
                    break;
                }
            }
        }
    }
}
