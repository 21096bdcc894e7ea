//! How a doctor's video visits start: the clinic's defaults, which of them a doctor may change,
//! and each doctor's own. Parsed the same way in the browser and on the server. Nothing here
//! can reach the privacy contract (recording, AI Companion, waiting room, passcode, join
//! before host): those fields do not exist in these types.

use crate::domain::VisitLength;
use serde::{Deserialize, Serialize};

/// One preference, by its stable key (stored, sent by forms, named in errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PreferenceField {
    VisitMinutes,
    HostVideo,
    ParticipantVideo,
    MuteUponEntry,
    ReminderLeads,
}

impl PreferenceField {
    pub const ALL: [PreferenceField; 5] = [
        PreferenceField::VisitMinutes,
        PreferenceField::HostVideo,
        PreferenceField::ParticipantVideo,
        PreferenceField::MuteUponEntry,
        PreferenceField::ReminderLeads,
    ];

    pub fn key(self) -> &'static str {
        match self {
            PreferenceField::VisitMinutes => "visit_minutes",
            PreferenceField::HostVideo => "host_video",
            PreferenceField::ParticipantVideo => "participant_video",
            PreferenceField::MuteUponEntry => "mute_upon_entry",
            PreferenceField::ReminderLeads => "reminder_leads",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            PreferenceField::VisitMinutes => "Default visit length (minutes)",
            PreferenceField::HostVideo => "My video on at start",
            PreferenceField::ParticipantVideo => "Patient video on at entry",
            PreferenceField::MuteUponEntry => "Patients muted on entry",
            PreferenceField::ReminderLeads => "Reminders (minutes before the visit)",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.key() == key.trim())
    }

    /// Whether Zoom hears about it (a change updates the doctor's upcoming meetings).
    pub fn sent_to_zoom(self) -> bool {
        matches!(
            self,
            PreferenceField::HostVideo
                | PreferenceField::ParticipantVideo
                | PreferenceField::MuteUponEntry
        )
    }
}

/// Reminder lead times: 1 to 3 distinct times, each from 5 minutes to 7 days before the visit,
/// kept largest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderLeads(Vec<u32>);

impl ReminderLeads {
    pub const MIN_MINUTES: u32 = 5;
    pub const MAX_MINUTES: u32 = 7 * 24 * 60;
    pub const MAX_COUNT: usize = 3;

    /// `"24h, 15m"`, `"1440,15"`, `"2 d"`: minutes by default, `m`, `h` or `d` suffixes.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut minutes = Vec::new();
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let lower = part.to_ascii_lowercase().replace(' ', "");
            let (number, unit) = match lower.find(|c: char| !c.is_ascii_digit()) {
                Some(at) => lower.split_at(at),
                None => (lower.as_str(), ""),
            };
            let factor = match unit {
                "" | "m" | "min" => 1,
                "h" => 60,
                "d" => 24 * 60,
                _ => return Err(format!("\"{part}\" is not a time: write e.g. 24h, 15m.")),
            };
            let value: u32 = number
                .parse()
                .map_err(|_| format!("\"{part}\" is not a time: write e.g. 24h, 15m."))?;
            minutes.push(value.saturating_mul(factor));
        }
        Self::from_minutes(minutes)
    }

    pub fn from_minutes(mut minutes: Vec<u32>) -> Result<Self, String> {
        if minutes.is_empty() {
            return Err("Give at least one reminder time, e.g. 24h, 15m.".into());
        }
        if minutes
            .iter()
            .any(|m| !(Self::MIN_MINUTES..=Self::MAX_MINUTES).contains(m))
        {
            return Err("Each reminder is between 5 minutes and 7 days before the visit.".into());
        }
        minutes.sort_unstable_by(|a, b| b.cmp(a));
        minutes.dedup();
        if minutes.len() > Self::MAX_COUNT {
            return Err(format!("At most {} reminders.", Self::MAX_COUNT));
        }
        Ok(Self(minutes))
    }

    pub fn minutes(&self) -> &[u32] {
        &self.0
    }

    /// As stored: `1440,15`.
    pub fn to_stored(&self) -> String {
        self.0
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// As shown and typed: `24h, 15m`.
    pub fn display(&self) -> String {
        self.0
            .iter()
            .map(|m| {
                if m.is_multiple_of(24 * 60) {
                    format!("{}d", m / (24 * 60))
                } else if m.is_multiple_of(60) {
                    format!("{}h", m / 60)
                } else {
                    format!("{m}m")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Default for ReminderLeads {
    fn default() -> Self {
        Self(vec![24 * 60, 15])
    }
}

/// One full set of preference values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreferenceValues {
    pub visit_minutes: u32,
    pub host_video: bool,
    pub participant_video: bool,
    pub mute_upon_entry: bool,
    pub reminder_leads: ReminderLeads,
}

impl Default for PreferenceValues {
    fn default() -> Self {
        Self {
            visit_minutes: 30,
            host_video: true,
            participant_video: true,
            mute_upon_entry: false,
            reminder_leads: ReminderLeads::default(),
        }
    }
}

impl PreferenceValues {
    /// Parses a form: a bad field is named (`(field key, message)`).
    pub fn parse(
        visit_minutes: &str,
        host_video: bool,
        participant_video: bool,
        mute_upon_entry: bool,
        reminder_leads: &str,
    ) -> Result<Self, (&'static str, String)> {
        let length = VisitLength::parse(visit_minutes)
            .map_err(|e| (PreferenceField::VisitMinutes.key(), e.0))?;
        let reminder_leads = ReminderLeads::parse(reminder_leads)
            .map_err(|e| (PreferenceField::ReminderLeads.key(), e))?;
        Ok(Self {
            visit_minutes: length.minutes(),
            host_video,
            participant_video,
            mute_upon_entry,
            reminder_leads,
        })
    }

    /// The fields where `self` and `other` differ.
    pub fn differing(&self, other: &Self) -> Vec<PreferenceField> {
        PreferenceField::ALL
            .into_iter()
            .filter(|f| match f {
                PreferenceField::VisitMinutes => self.visit_minutes != other.visit_minutes,
                PreferenceField::HostVideo => self.host_video != other.host_video,
                PreferenceField::ParticipantVideo => {
                    self.participant_video != other.participant_video
                }
                PreferenceField::MuteUponEntry => self.mute_upon_entry != other.mute_upon_entry,
                PreferenceField::ReminderLeads => self.reminder_leads != other.reminder_leads,
            })
            .collect()
    }

    /// A short text for the audit trail (no personal data).
    pub fn describe(&self) -> String {
        format!(
            "visit_minutes={} host_video={} participant_video={} mute_upon_entry={} reminders={}",
            self.visit_minutes,
            self.host_video,
            self.participant_video,
            self.mute_upon_entry,
            self.reminder_leads.display()
        )
    }
}

/// The admin's view: the clinic's values and what doctors may change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClinicPreferencesView {
    pub values: PreferenceValues,
    pub doctor_may_change: Vec<PreferenceField>,
}

/// The doctor's view: what applies to their visits, and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyPreferencesView {
    /// What the doctor's visits get.
    pub effective: PreferenceValues,
    /// The clinic's values (shown read-only for what the doctor may not change).
    pub clinic: PreferenceValues,
    pub doctor_may_change: Vec<PreferenceField>,
    /// Where the doctor's Zoom account forced a setting against a preference, as sentences
    /// ("Your Zoom account forces patients' video off at entry.").
    pub zoom_forces: Vec<String>,
}

/// The comma-separated list of field keys a form sends for "doctors may change".
pub fn parse_field_list(raw: &str) -> Result<Vec<PreferenceField>, String> {
    let mut fields = Vec::new();
    for key in raw.split(',').map(str::trim).filter(|k| !k.is_empty()) {
        let field =
            PreferenceField::parse(key).ok_or_else(|| format!("Unknown preference {key}."))?;
        if !fields.contains(&field) {
            fields.push(field);
        }
    }
    Ok(fields)
}

/// "Your Zoom account forces …" for a preference field and the value Zoom kept.
pub fn forced_sentence(field: PreferenceField, value: bool) -> String {
    let on_off = if value { "on" } else { "off" };
    match field {
        PreferenceField::HostVideo => {
            format!("Your Zoom account forces your video {on_off} at start.")
        }
        PreferenceField::ParticipantVideo => {
            format!("Your Zoom account forces patients' video {on_off} at entry.")
        }
        PreferenceField::MuteUponEntry => {
            if value {
                "Your Zoom account forces patients to be muted on entry.".into()
            } else {
                "Your Zoom account does not let patients be muted on entry.".into()
            }
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reminder_leads_parse_units_and_sort() {
        let leads = ReminderLeads::parse("15m, 24h").unwrap();
        assert_eq!(leads.minutes(), [1440, 15]);
        assert_eq!(leads.display(), "1d, 15m");
        assert_eq!(ReminderLeads::parse("1440,15").unwrap(), leads);
        assert!(ReminderLeads::parse("").is_err());
        assert!(ReminderLeads::parse("1m").is_err());
        assert!(ReminderLeads::parse("8d").is_err());
        assert!(ReminderLeads::parse("1h,2h,3h,4h").is_err());
        assert!(ReminderLeads::parse("soon").is_err());
    }

    #[test]
    fn a_length_outside_the_range_names_its_field() {
        let err = PreferenceValues::parse("4", true, true, false, "15").unwrap_err();
        assert_eq!(err.0, "visit_minutes");
        let err = PreferenceValues::parse("241", true, true, false, "15").unwrap_err();
        assert_eq!(err.0, "visit_minutes");
        assert!(PreferenceValues::parse("45", true, false, true, "24h").is_ok());
    }
}
