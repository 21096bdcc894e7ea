//! HTML written by hand rather than by a view: the mails, the few pages outside the app, the
//! time-zone field's list.

/// Text for HTML content or a quoted attribute: the five characters that could open markup or
/// close the attribute are escaped.
pub fn escape(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
