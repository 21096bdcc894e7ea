//! A visit as one particular caller may see it: times in their zone, staff-only reasons and
//! warnings only for staff, and the buttons their role and the meeting's state allow.

use super::access::{attends, hosts, reassigns};
use crate::domain::{MeetingState, Role, TimeZone};
use crate::server::persistence::{now_unix, AppointmentRow, UserRecord};
use crate::types::visits::{LiveState, LiveView, MeetingView, VisitView};

pub fn for_viewer(user: &UserRecord, visit: &AppointmentRow) -> VisitView {
    let viewer_zone = user.time_zone.unwrap_or(visit.start.booked_in());
    let staff = user.role != Role::Patient;
    let ready = visit.meeting.state == MeetingState::Ready && !visit.cancelled;
    let staff_only = |value: &Option<String>| if staff { value.clone() } else { None };
    let booked_zone = visit.start.booked_in();
    let local_start = visit.start.display_in(viewer_zone);
    let booked_start = if viewer_zone == booked_zone {
        local_start.clone()
    } else {
        visit.start.display_in(booked_zone)
    };
    VisitView {
        id: visit.public_id.to_string(),
        doctor_id: visit.doctor.id,
        doctor: visit.doctor.label(),
        patient_id: visit.patient.id,
        patient: visit.patient.label(),
        starts_at: visit.start.utc().timestamp(),
        ends_at: visit.ends_at(),
        local_start,
        viewer_zone,
        booked_zone,
        booked_start,
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
        live: live_view(visit, viewer_zone, staff, now_unix()),
    }
}

/// What Zoom reported, in the viewer's zone. Times only ever move forward (see the store), so
/// an end later than the last start means the meeting is over, whatever order the events
/// came in; a start after an end is the host starting it again.
fn live_view(visit: &AppointmentRow, zone: TimeZone, staff: bool, now: i64) -> LiveView {
    let live = visit.meeting.live;
    let clock = |ms: Option<i64>| {
        ms.and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| t.with_timezone(&zone.tz()).format("%H:%M").to_string())
    };
    let state = match live {
        _ if visit.cancelled => LiveState::Scheduled,
        crate::server::persistence::LiveRow {
            ended_at: Some(end),
            ..
        } if end >= live.started_at.unwrap_or(0) => LiveState::Ended,
        _ if live.waiting_since.is_some() => LiveState::Waiting,
        _ if live.started_at.is_some() => LiveState::InProgress,
        // The visit's time passed and the meeting never started. Staff see a no-show; the
        // patient, who may well have waited for a doctor who never came, sees it as over.
        _ if visit.ends_at() < now => {
            if staff {
                LiveState::NoShow
            } else {
                LiveState::Ended
            }
        }
        _ => LiveState::Scheduled,
    };
    LiveView {
        state,
        waiting_since: if state == LiveState::Waiting {
            clock(live.waiting_since)
        } else {
            None
        },
        started_at: clock(live.started_at),
        ended_at: if state == LiveState::Ended {
            clock(live.ended_at)
        } else {
            None
        },
    }
}
