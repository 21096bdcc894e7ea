//! SMTP through lettre: STARTTLS or implicit TLS (rustls), plain only to this machine. A send
//! ends in one of three ways, and the outbox acts on each: taken, try again later (a 4xx, a
//! connection or TLS failure, a timeout), or refused for good (a 5xx).

use crate::server::config::{MailSettings, SmtpSettings, SmtpTls};
use crate::server::notify::ics::Method;
use crate::server::persistence::OutboxRow;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use std::time::Duration;

#[derive(Debug)]
pub enum SendError {
    /// The server or the way to it failed for now: try again after a while.
    Transient(String),
    /// The server refused the message (5xx) or it cannot be built: never try again.
    Permanent(String),
}

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    timeout: Duration,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

impl Mailer {
    /// None when no SMTP server is configured: mail then stays in the outbox.
    pub fn new(settings: &MailSettings) -> Result<Option<Self>, String> {
        let Some(smtp) = &settings.smtp else {
            return Ok(None);
        };
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| format!("MAIL_FROM: {e}"))?;
        // One exchange must end well inside the lease, or a second worker could send too.
        let timeout = settings.lease.saturating_sub(Duration::from_secs(5));
        Ok(Some(Self {
            transport: transport(smtp, timeout)?,
            from,
            timeout,
        }))
    }

    pub async fn send(&self, mail: &OutboxRow) -> Result<(), SendError> {
        let message = self.build(mail)?;
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Err(_) => Err(SendError::Transient(
                "the mail server did not answer in time".into(),
            )),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) if error.is_permanent() => Err(SendError::Permanent(format!(
                "the mail server refused it: {error}"
            ))),
            Ok(Err(error)) => Err(SendError::Transient(error.to_string())),
        }
    }

    fn build(&self, mail: &OutboxRow) -> Result<Message, SendError> {
        let to: Mailbox = mail
            .recipient
            .parse()
            .map_err(|e| SendError::Permanent(format!("bad recipient address: {e}")))?;
        let body = MultiPart::alternative()
            .singlepart(SinglePart::plain(mail.body_text.clone()))
            .singlepart(SinglePart::html(mail.body_html.clone()));
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .message_id(None);
        let built = match &mail.ics {
            None => builder.multipart(body),
            Some(ics) => {
                let kind = format!(
                    "text/calendar; charset=utf-8; method={}",
                    Method::of(ics).as_str()
                );
                let kind = ContentType::parse(&kind)
                    .map_err(|e| SendError::Permanent(format!("calendar part: {e}")))?;
                let invite = Attachment::new("invite.ics".to_owned()).body(ics.clone(), kind);
                builder.multipart(MultiPart::mixed().multipart(body).singlepart(invite))
            }
        };
        built.map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))
    }
}

fn transport(
    smtp: &SmtpSettings,
    timeout: Duration,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let builder = match smtp.tls {
        SmtpTls::Implicit => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
            .map_err(|e| format!("SMTP_URL: {e}"))?,
        SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
            .map_err(|e| format!("SMTP_URL: {e}"))?,
        SmtpTls::Plain => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
    };
    let mut builder = builder.port(smtp.port).timeout(Some(timeout));
    if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            password.expose_secret().to_owned(),
        ));
    }
    Ok(builder.build())
}
