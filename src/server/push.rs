//! Tells open browser tabs that a visit changed, so pages update without polling. Anything
//! that changes a visit (a request, the meeting worker, a Zoom webhook) publishes its id;
//! each tab's stream checks, per event, whether its caller may see that visit before
//! passing it on, and the page then re-reads the visit through the usual server functions.

use tokio::sync::broadcast;

/// How many changes a slow tab may fall behind before it is told to reload everything.
const BACKLOG: usize = 1024;

/// One visit changed, by its row id (the stream checks access with it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitChanged {
    pub appointment_id: i64,
}

#[derive(Debug, Clone)]
pub struct Push {
    sender: broadcast::Sender<VisitChanged>,
}

impl Default for Push {
    fn default() -> Self {
        Self::new()
    }
}

impl Push {
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(BACKLOG);
        Self { sender }
    }

    /// Announces a change on this instance. Nobody listening is not an error.
    pub fn visit_changed(&self, appointment_id: i64) {
        let _ = self.sender.send(VisitChanged { appointment_id });
    }

    pub fn subscribe(&self) -> broadcast::Receiver<VisitChanged> {
        self.sender.subscribe()
    }
}
