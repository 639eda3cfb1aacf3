//! The mail transport for officer notifications: SMTP with STARTTLS (`smtp://`) or implicit
//! TLS (`smtps://`) through lettre and rustls, the certificate checked against the public roots
//! and an optional private authority (`SPEAKUP_SMTP_CA_FILE`). It sends plain-text mails whose body is always
//! base64-encoded, so a mail's size depends only on its text's length (which the digests keep
//! constant), never on which characters a digest happened to contain. The SMTP password is
//! handed to lettre and nowhere else: no log line or error message carries it.

use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{MailSettings, SmtpTls};

/// How long one delivery may take before it counts as failed.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Why a mail was not delivered (lettre's own message: the server's answer, never the mail).
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("bad address: {0}")]
    Address(String),
    #[error("the mail could not be built: {0}")]
    Build(String),
    #[error("SMTP delivery failed: {0}")]
    Smtp(String),
}

/// An SMTP connection's settings and the sender; cheap to clone, connects per delivery.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Mailer(<smtp>)")
    }
}

/// TLS to the SMTP server, checked against the public roots (webpki-roots) and, when
/// `SPEAKUP_SMTP_CA_FILE` names one, a private certificate authority.
fn tls_parameters(settings: &MailSettings) -> Result<TlsParameters, MailError> {
    let tls = |e: lettre::transport::smtp::Error| MailError::Smtp(e.to_string());
    let mut builder = TlsParameters::builder(settings.smtp.host.clone());
    if let Some(pem) = &settings.ca_pem {
        builder = builder.add_root_certificate(Certificate::from_pem(pem).map_err(tls)?);
    }
    builder.build_rustls().map_err(tls)
}

impl Mailer {
    pub fn new(settings: &MailSettings) -> Result<Self, MailError> {
        let s = &settings.smtp;
        let plain = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host);
        let builder = match s.tls {
            SmtpTls::Implicit => plain.tls(Tls::Wrapper(tls_parameters(settings)?)),
            SmtpTls::StartTls => plain.tls(Tls::Required(tls_parameters(settings)?)),
            SmtpTls::None => plain,
        };
        let mut builder = builder.port(s.port).timeout(Some(TIMEOUT));
        if let Some(user) = &s.user {
            let password = s.password.as_ref().map(|p| p.expose().to_owned());
            builder =
                builder.credentials(Credentials::new(user.clone(), password.unwrap_or_default()));
        }
        let from = settings
            .from
            .parse::<Mailbox>()
            .map_err(|e| MailError::Address(e.to_string()))?;
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }

    /// Sends one plain-text mail to `to`.
    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), MailError> {
        let to = to
            .parse::<Mailbox>()
            .map_err(|e| MailError::Address(e.to_string()))?;
        let part = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .header(ContentTransferEncoding::Base64)
            .body(body);
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .singlepart(part)
            .map_err(|e| MailError::Build(e.to_string()))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| MailError::Smtp(e.to_string()))
    }
}
