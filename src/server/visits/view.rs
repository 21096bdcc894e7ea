//! A visit as one particular caller may see it: times in their zone, staff-only reasons and
//! warnings only for staff, and the buttons their role and the meeting's state allow.

use super::access::{attends, hosts, reassigns};
use crate::domain::{MeetingState, Role};
use crate::server::persistence::{AppointmentRow, UserRecord};
use crate::types::visits::{LiveView, MeetingView, VisitView};

pub fn for_viewer(user: &UserRecord, visit: &AppointmentRow) -> VisitView {
    let viewer_zone = user.time_zone.unwrap_or(visit.start.booked_in());
    let staff = user.role != Role::Patient;
    let ready = visit.meeting.state == MeetingState::Ready && !visit.cancelled;
    let staff_only = |value: &Option<String>| if staff { value.clone() } else { None };
    VisitView {
        id: visit.public_id.to_string(),
        doctor_id: visit.doctor.id,
        doctor: visit.doctor.label(),
        patient_id: visit.patient.id,
        patient: visit.patient.label(),
        starts_at: visit.start.utc().timestamp(),
        ends_at: visit.ends_at(),
        local_start: visit.start.display_in(viewer_zone),
        viewer_zone: viewer_zone.name().to_owned(),
        booked_zone: visit.start.booked_in().name().to_owned(),
        booked_start: visit.start.display_in(visit.start.booked_in()),
        duration_minutes: visit.length.minutes(),
        reason: visit.reason.clone(),
        cancelled: visit.cancelled,
        meeting: MeetingView {
            state: visit.meeting.state,
            reason: staff_only(&visit.meeting.last_error),
            warning: staff_only(&visit.meeting.settings_warning),
            attempts: visit.meeting.attempts,
        },
        can_start: ready && hosts(user, visit),
        can_join: ready && attends(user, visit),
        // A cancelled visit's meeting can fail too (its deletion at Zoom): retrying finishes
        // the cancellation.
        can_retry: visit.meeting.state == MeetingState::Failed && hosts(user, visit),
        can_change: !visit.cancelled,
        can_change_doctor: !visit.cancelled && reassigns(user),
        live: LiveView::default(),
    }
}
