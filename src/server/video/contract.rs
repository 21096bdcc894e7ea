//! The clinic's privacy contract: what every visit's meeting must be, whatever the host's own
//! defaults say. Providers send it on every create and update, read the meeting back, and
//! report each safeguard that did not hold; the meeting worker re-sends once and then blocks
//! the visit (no join link for the patient) until the clinic's video admin fixes the cause.
//!
//! The safeguards, and why:
//! - no recording and no AI summaries or questions: the clinic promises "no video storage",
//!   and an AI summary is a written record of the consultation sent outside the clinic;
//! - waiting room on, host first: nobody is in the room before the doctor admits them;
//! - our generated passcode, embedded in the join link: the patient needs nothing else;
//! - encryption that browsers and phones can join (not end-to-end: it shuts them out);
//! - no sign-in and no registration required: patients have no video-service account; the
//!   waiting room and our login-gated join page are the access control;
//! - no persistent chat, no personal meeting room: nothing lives on after the visit.

/// One safeguard of the contract. `key` is stable (stored, shown, tested).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Safeguard {
    NoRecording,
    NoAiSummary,
    NoAiQuestions,
    WaitingRoom,
    HostFirst,
    OurPasscode,
    PasscodeInLink,
    BrowserJoinable,
    NoSignIn,
    NoRegistration,
    NoPersistentChat,
    NoPersonalRoom,
}

impl Safeguard {
    pub const ALL: [Safeguard; 12] = [
        Safeguard::NoRecording,
        Safeguard::NoAiSummary,
        Safeguard::NoAiQuestions,
        Safeguard::WaitingRoom,
        Safeguard::HostFirst,
        Safeguard::OurPasscode,
        Safeguard::PasscodeInLink,
        Safeguard::BrowserJoinable,
        Safeguard::NoSignIn,
        Safeguard::NoRegistration,
        Safeguard::NoPersistentChat,
        Safeguard::NoPersonalRoom,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Safeguard::NoRecording => "recording",
            Safeguard::NoAiSummary => "ai_summary",
            Safeguard::NoAiQuestions => "ai_questions",
            Safeguard::WaitingRoom => "waiting_room",
            Safeguard::HostFirst => "join_before_host",
            Safeguard::OurPasscode => "passcode",
            Safeguard::PasscodeInLink => "passcode_in_link",
            Safeguard::BrowserJoinable => "encryption",
            Safeguard::NoSignIn => "sign_in",
            Safeguard::NoRegistration => "registration",
            Safeguard::NoPersistentChat => "continuous_chat",
            Safeguard::NoPersonalRoom => "personal_room",
        }
    }

    /// What is wrong, in a sentence fragment a doctor understands.
    pub fn problem(self) -> &'static str {
        match self {
            Safeguard::NoRecording => "cloud or local recording is on",
            Safeguard::NoAiSummary => "AI Companion meeting summaries are on",
            Safeguard::NoAiQuestions => "AI Companion questions are on",
            Safeguard::WaitingRoom => "the waiting room is off",
            Safeguard::HostFirst => "patients can join before the doctor",
            Safeguard::OurPasscode => "the passcode differs from the one we set",
            Safeguard::PasscodeInLink => "the join link does not carry the passcode",
            Safeguard::BrowserJoinable => {
                "end-to-end encryption is on (patients cannot join from a browser or phone)"
            }
            Safeguard::NoSignIn => "only signed-in Zoom users can join",
            Safeguard::NoRegistration => "registration is required",
            Safeguard::NoPersistentChat => "continuous meeting chat is on",
            Safeguard::NoPersonalRoom => "the meeting uses the doctor's personal meeting ID",
        }
    }

    /// Where the clinic's Zoom admin changes it (Zoom web portal).
    pub fn fix(self) -> &'static str {
        match self {
            Safeguard::NoRecording => "Settings > Recording > Automatic recording: off (unlock it)",
            Safeguard::NoAiSummary | Safeguard::NoAiQuestions => {
                "Settings > AI Companion > Meeting: turn off automatic start (unlock it)"
            }
            Safeguard::WaitingRoom | Safeguard::HostFirst => {
                "Settings > Meeting > Security > Waiting Room: on (unlock it)"
            }
            Safeguard::OurPasscode => {
                "Settings > Meeting > Security > Passcode: allow custom passcodes (unlock it)"
            }
            Safeguard::PasscodeInLink => {
                "Settings > Meeting > Security > Embed passcode in invite link: on"
            }
            Safeguard::BrowserJoinable => {
                "Settings > Meeting > Security > Encryption type: Enhanced encryption"
            }
            Safeguard::NoSignIn => {
                "Settings > Meeting > Security > Only authenticated users can join: off"
            }
            Safeguard::NoRegistration => "Settings > Meeting > Registration: not required",
            Safeguard::NoPersistentChat => {
                "Settings > Meeting > Continuous meeting chat: off (unlock it)"
            }
            Safeguard::NoPersonalRoom => {
                "Settings > Meeting > Use Personal Meeting ID when scheduling: off"
            }
        }
    }
}

/// A staff-facing text naming each broken safeguard and where to fix it.
pub fn describe(broken: &[Safeguard]) -> String {
    let items: Vec<String> = broken
        .iter()
        .map(|s| format!("{} (Zoom admin: {})", s.problem(), s.fix()))
        .collect();
    format!(
        "Blocked: Zoom did not keep the clinic's privacy settings: {}. Patients cannot join until it is fixed.",
        items.join("; ")
    )
}
