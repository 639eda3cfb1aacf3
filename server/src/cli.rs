//! The `speakup` command line (a fixed point: see docs/cli.md). Officer-side tools print
//! metadata only; nothing here can print case plaintext, because the server holds no key.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::audit::{self, action};
use crate::clock::SystemClock;
use crate::config::{self, CommonArgs, ServeArgs, Settings};
use crate::domain::case::{acknowledgement_due, feedback_due};
use crate::domain::officer::{OfficerEmail, OfficerName, Role, parse_recipient, roles_to_db};
use crate::store::{self, NewOfficer, SharedStore};

#[derive(Debug, Parser)]
#[command(
    name = "speakup",
    version,
    about = "Speak Up: an end-to-end encrypted whistleblowing channel"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (applies migrations first).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage the officers whose age keys receive new cases.
    Officer {
        #[command(subcommand)]
        command: OfficerCommand,
    },
    /// Create the first admin account (prints a one-time enrollment link).
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Check the audit log's hash chain.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// List cases (metadata only) and export them for offline decryption.
    Case {
        #[command(subcommand)]
        command: CaseCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum OfficerCommand {
    /// Register an officer by the age public key they made with age-keygen, rage-keygen or typage.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, officer, investigator or auditor; repeat or separate with commas.
        #[arg(long = "role", value_delimiter = ',', default_value = "officer")]
        roles: Vec<String>,
        /// The officer's age recipient (age1…).
        #[arg(long)]
        recipient: String,
    },
    /// List officers.
    List,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an admin account and print its one-time enrollment link (valid 72 hours).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Administrator")]
        name: String,
    },
    /// Print a new enrollment link for an existing account (lost phone or password);
    /// its password and TOTP stop working at once.
    Reset {
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute every row's hash; exit non-zero and name the first broken row if any.
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// List cases: reference, category, status and deadlines.
    List,
    /// Write a case's ciphertext and a manifest to a folder, for `age -d`.
    Export {
        /// The case reference (SU-XXXX-XXXX) or id.
        case: String,
        #[arg(long)]
        out: PathBuf,
    },
}

async fn open_store(common: &CommonArgs) -> anyhow::Result<SharedStore> {
    let url = Settings::database_url(common)?;
    config::ensure_sqlite_dir(&url).context("cannot create the database folder")?;
    let store = store::connect(&url)
        .await
        .with_context(|| format!("cannot open the database {}", store::redact_url(&url)))?;
    store.migrate().await.context("cannot apply migrations")?;
    Ok(store)
}

/// Runs a parsed command, writing its output to `out`.
pub async fn run(cli: Cli, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(&cli.common, &args, out).await,
        Command::Migrate => {
            let store = open_store(&cli.common).await?;
            writeln!(out, "migrations applied ({})", store.backend())?;
            Ok(())
        }
        Command::Officer { command } => officer(&cli.common, command, out).await,
        Command::Admin { command } => admin(&cli.common, command, out).await,
        Command::Audit {
            command: AuditCommand::Verify,
        } => audit_verify(&cli.common, out).await,
        Command::Case { command } => case(&cli.common, command, out).await,
    }
}

async fn serve(
    common: &CommonArgs,
    args: &ServeArgs,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let settings = Settings::resolve(common, args)?;
    let store = open_store(common).await?;
    let holders = crate::cases::intake_recipients(store.as_ref()).await?;
    let listener = tokio::net::TcpListener::bind(settings.bind)
        .await
        .with_context(|| format!("cannot listen on {}", settings.bind))?;
    let addr = listener.local_addr()?;
    tracing::info!(
        %addr,
        database = %store::redact_url(&settings.database_url),
        backend = store.backend(),
        officer_keys = holders.len(),
        escrow = settings.escrow_recipient.is_some(),
        "listening"
    );
    writeln!(
        out,
        "Speak Up is running: open {} in a browser.",
        settings.public_url
    )?;
    if holders.is_empty() {
        writeln!(
            out,
            "No officer key yet, so the intake is closed. Make a key with `age-keygen -o officer.key`,\n\
             then register it: speakup officer add --email you@example.org --name \"Your Name\" \\\n\
             \x20   --role officer --recipient age1...   (the public key age-keygen printed)"
        )?;
    } else {
        writeln!(
            out,
            "New reports are encrypted to {} officer key(s).",
            holders.len()
        )?;
    }
    out.flush()?;
    let state = crate::server::build_state(store, settings, Arc::new(SystemClock)).await?;
    crate::server::serve(listener, state, crate::server::shutdown_signal()).await?;
    Ok(())
}

async fn officer(
    common: &CommonArgs,
    command: OfficerCommand,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    match command {
        OfficerCommand::Add {
            email,
            name,
            roles,
            recipient,
        } => {
            let email = OfficerEmail::parse(&email)?;
            let name = OfficerName::parse(&name)?;
            let roles = roles
                .iter()
                .map(|r| r.parse::<Role>())
                .collect::<Result<Vec<_>, _>>()?;
            let recipient = parse_recipient(&recipient)?;
            let store = open_store(common).await?;
            let id = uuid::Uuid::new_v4().to_string();
            store
                .add_officer(&NewOfficer {
                    id: id.clone(),
                    email: email.as_str().into(),
                    name: name.as_str().into(),
                    roles: roles_to_db(&roles),
                    recipient: recipient.to_string(),
                    created_at: time::OffsetDateTime::now_utc().unix_timestamp(),
                })
                .await?;
            writeln!(
                out,
                "added {} ({}) with roles {}: {id}",
                email.as_str(),
                name.as_str(),
                roles_to_db(&roles)
            )?;
            let now = time::OffsetDateTime::now_utc();
            audit::record(
                &store,
                now,
                CLI_ACTOR,
                action::ACCOUNT_CREATED,
                "",
                &format!("{} ({})", email.as_str(), roles_to_db(&roles)),
            )
            .await?;
            let url = public_url(common)?;
            let link = crate::web::officer::admin::enrollment_link(
                &store,
                &url,
                &id,
                now.unix_timestamp(),
                false,
            )
            .await?;
            writeln!(
                out,
                "To sign in to the web workspace, {} opens this one-time link (valid {} hours):\n{link}",
                email.as_str(),
                crate::web::officer::enroll::LINK_HOURS
            )?;
            Ok(())
        }
        OfficerCommand::List => {
            let store = open_store(common).await?;
            let officers = store.officers().await?;
            if officers.is_empty() {
                writeln!(out, "no officers")?;
            }
            for o in officers {
                let state = if o.disabled {
                    "disabled"
                } else if o.enrolled {
                    "active"
                } else {
                    "enrollment pending"
                };
                let key = if o.recipient.is_empty() {
                    "-"
                } else {
                    o.recipient.as_str()
                };
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}",
                    o.email, o.name, o.roles, key, state
                )?;
            }
            Ok(())
        }
    }
}

/// Command-line actions are audited as done by the machine's operator.
const CLI_ACTOR: &str = "cli";

/// The address links point to: `--public-url`, `SPEAKUP_PUBLIC_URL` or the config file.
fn public_url(common: &CommonArgs) -> anyhow::Result<String> {
    let args = ServeArgs {
        public_url: std::env::var("SPEAKUP_PUBLIC_URL").ok(),
        bind: std::env::var("SPEAKUP_BIND")
            .ok()
            .and_then(|b| b.parse().ok()),
        ..Default::default()
    };
    Ok(Settings::resolve(common, &args)?.public_url)
}

async fn admin(
    common: &CommonArgs,
    command: AdminCommand,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let store = open_store(common).await?;
    let now = time::OffsetDateTime::now_utc();
    let (email, id) = match command {
        AdminCommand::Create { email, name } => {
            let email = OfficerEmail::parse(&email)?;
            let name = OfficerName::parse(&name)?;
            let id = uuid::Uuid::new_v4().to_string();
            store
                .add_officer(&NewOfficer {
                    id: id.clone(),
                    email: email.as_str().into(),
                    name: name.as_str().into(),
                    roles: roles_to_db(&[Role::Admin]),
                    recipient: String::new(),
                    created_at: now.unix_timestamp(),
                })
                .await?;
            audit::record(
                &store,
                now,
                CLI_ACTOR,
                action::ACCOUNT_CREATED,
                "",
                &format!("{} (admin)", email.as_str()),
            )
            .await?;
            writeln!(out, "created admin {}", email.as_str())?;
            (email.as_str().to_owned(), id)
        }
        AdminCommand::Reset { email } => {
            let email = OfficerEmail::parse(&email)?;
            let (account, _) = store
                .officer_by_email(email.as_str())
                .await?
                .with_context(|| format!("no account {}", email.as_str()))?;
            audit::record(
                &store,
                now,
                CLI_ACTOR,
                action::ENROLLMENT_RESET,
                "",
                email.as_str(),
            )
            .await?;
            (email.as_str().to_owned(), account.id)
        }
    };
    let url = public_url(common)?;
    let reset = true;
    let link =
        crate::web::officer::admin::enrollment_link(&store, &url, &id, now.unix_timestamp(), reset)
            .await?;
    writeln!(
        out,
        "One-time enrollment link for {email} (valid {} hours; it works once):\n{link}",
        crate::web::officer::enroll::LINK_HOURS
    )?;
    Ok(())
}

async fn audit_verify(common: &CommonArgs, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let store = open_store(common).await?;
    match audit::verify(&store).await? {
        audit::Verdict::Intact { rows, head } => {
            writeln!(
                out,
                "audit log intact: {rows} rows, head {}",
                audit::hex(&head)
            )?;
            Ok(())
        }
        audit::Verdict::Broken { seq, reason } => {
            writeln!(out, "audit log BROKEN at row {seq}: {reason}")?;
            anyhow::bail!("the audit log's hash chain is broken at row {seq}")
        }
    }
}

async fn case(
    common: &CommonArgs,
    command: CaseCommand,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let store = open_store(common).await?;
    match command {
        CaseCommand::List => {
            let cases = store.cases().await?;
            if cases.is_empty() {
                writeln!(out, "no cases")?;
                return Ok(());
            }
            writeln!(
                out,
                "reference\tcategory\tmode\tstatus\treceived\tack due\tfeedback due"
            )?;
            for c in cases {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    c.reference,
                    c.category,
                    c.mode,
                    c.status,
                    c.received_on,
                    acknowledgement_due(c.received_on),
                    feedback_due(c.received_on, c.acknowledged_on)
                )?;
            }
            Ok(())
        }
        CaseCommand::Export { case, out: dir } => {
            let record = crate::export::find_case(store.as_ref(), &case).await?;
            let n = crate::export::export_case(store.as_ref(), &record, &dir).await?;
            audit::record(
                &store,
                time::OffsetDateTime::now_utc(),
                CLI_ACTOR,
                action::EXPORT,
                &record.reference,
                &format!("{n} items"),
            )
            .await?;
            writeln!(
                out,
                "exported {} ({n} items) to {}; see {}/README.txt to decrypt",
                record.reference,
                dir.display(),
                dir.display()
            )?;
            Ok(())
        }
    }
}
