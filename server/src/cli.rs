//! The `speakup` command line (a fixed point: see docs/cli.md). Officer-side tools print
//! metadata only; nothing here can print case plaintext, because the server holds no key.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::app::accounts::{self, Changer, LINK_HOURS, NewAccount};
use crate::app::audit::{self, action};
use crate::app::{App, entities, export};
use crate::clock::SystemClock;
use crate::config::{self, CommonArgs, MailArgs, ServeArgs, Settings};
use crate::domain::audit::CLI_ACTOR;
use crate::domain::officer::{OfficerEmail, OfficerName, Role, Roles, parse_recipient};
use crate::store::{self, SharedStore};

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

// Parsed once per process: the size of the `serve` variant (one field per setting) costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (applies migrations first).
    Serve(Box<ServeArgs>),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage the officers whose age keys receive new cases.
    Officer {
        #[command(subcommand)]
        command: OfficerCommand,
    },
    /// Manage the legal entities of this instance (each with its own intake and triage group).
    Entity {
        #[command(subcommand)]
        command: EntityCommand,
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
    /// Write a consistent backup (database and server key file) while the server runs.
    Backup {
        /// The backup file to write (a new file; mode 0600).
        #[arg(long)]
        out: PathBuf,
        /// The server key file to include (default: beside a SQLite database).
        #[arg(long, env = "SPEAKUP_KEY_FILE")]
        key_file: Option<PathBuf>,
    },
    /// Restore a backup into an empty database (and its key file, mode 0600).
    Restore {
        /// The backup file `speakup backup` wrote.
        file: PathBuf,
        /// Replace what the database (and the key file) already hold.
        #[arg(long)]
        force: bool,
        /// Where to put the server key file (default: beside a SQLite database).
        #[arg(long, env = "SPEAKUP_KEY_FILE")]
        key_file: Option<PathBuf>,
    },
    /// Send the officers' notification mails that are due (SMTP settings as for `serve`).
    Notify(NotifyArgs),
    /// Print the yearly figures (whole months; any figure from fewer than 5 cases as `<5`).
    Stats(StatsArgs),
    /// Manage triage groups: the officers a category can route its reports to.
    Group {
        #[command(subcommand)]
        command: GroupCommand,
    },
}

/// Routing before sealing (issue 12): triage groups.
#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Add a triage group (empty; add members with `speakup group member`).
    Add {
        #[arg(long)]
        name: String,
    },
    /// Put an officer (an account with the officer role) in a group, or take them out.
    Member {
        #[arg(long)]
        group: String,
        /// The officer's e-mail address.
        #[arg(long)]
        officer: String,
        /// Take the officer out of the group instead.
        #[arg(long)]
        remove: bool,
    },
    /// List the groups and their members.
    List,
    /// Rename a group; the categories routed to it and the cases routed to it follow.
    Rename {
        #[arg(long)]
        name: String,
        /// The new name.
        #[arg(long)]
        to: String,
    },
    /// Delete a group no category routes to and no case was routed to.
    Delete {
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// The first month: `YYYY-MM` or a date `YYYY-MM-DD` (its month); default January of
    /// this year.
    #[arg(long, default_value = "")]
    pub from: String,
    /// The last month, included (same forms); default this month.
    #[arg(long, default_value = "")]
    pub to: String,
    /// `csv` or `json`.
    #[arg(long, default_value = "csv", value_parser = ["csv", "json"])]
    pub format: String,
    /// Only one legal entity's cases (its slug), or `-` for the instance's own; default all.
    #[arg(long, default_value = "")]
    pub entity: String,
}

#[derive(Debug, Args)]
pub struct NotifyArgs {
    /// Send everything due today at once: the daily digest whatever the hour, and the
    /// "new activity" mail without waiting for its random moment in the hour.
    #[arg(long)]
    pub now: bool,
    #[command(flatten)]
    pub mail: MailArgs,
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
        /// Put the officer in this entity's triage group (its slug); repeat for several.
        #[arg(long = "entity")]
        entities: Vec<String>,
        /// Give the officer access to every entity (group level).
        #[arg(long)]
        all_entities: bool,
    },
    /// List officers.
    List,
}

#[derive(Debug, Subcommand)]
pub enum EntityCommand {
    /// Add a legal entity, reached at `/e/{slug}/`; the name is used in every language
    /// until an admin sets each on the Entities page.
    Add {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
    },
    /// List the entities and their triage groups.
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
        Command::Entity { command } => entity(&cli.common, command, out).await,
        Command::Admin { command } => admin(&cli.common, command, out).await,
        Command::Audit {
            command: AuditCommand::Verify,
        } => audit_verify(&cli.common, out).await,
        Command::Case { command } => case(&cli.common, command, out).await,
        Command::Backup {
            out: file,
            key_file,
        } => backup(&cli.common, &file, key_file, out).await,
        Command::Restore {
            file,
            force,
            key_file,
        } => restore(&cli.common, &file, force, key_file, out).await,
        Command::Notify(args) => notify(&cli.common, args, out).await,
        Command::Stats(args) => stats(&cli.common, &args, out).await,
        Command::Group { command } => group(&cli.common, command, out).await,
    }
}

/// `speakup group …` (routing before sealing): audited as done by `cli`.
async fn group(
    common: &CommonArgs,
    command: GroupCommand,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    use crate::app::{Error, routing};
    let app = app(common).await?;
    match command {
        GroupCommand::Add { name } => {
            let name = routing::add_group(&app, None, &name)
                .await
                .map_err(|e| match e {
                    Error::Invalid => anyhow::anyhow!(
                        "the group name must be 1 to 80 characters and not taken already"
                    ),
                    e => e.into(),
                })?;
            writeln!(out, "added triage group {name}")?;
        }
        GroupCommand::Member {
            group,
            officer,
            remove,
        } => {
            routing::set_member(&app, None, &group, &officer, !remove)
                .await
                .map_err(|e| match e {
                    Error::NotFound => anyhow::anyhow!("no such group or officer"),
                    Error::Invalid => anyhow::anyhow!(
                        "not changed: a member needs the officer role, is added once, and the last \
                         member of a group a category routes to stays"
                    ),
                    e => e.into(),
                })?;
            let did = if remove { "removed from" } else { "added to" };
            writeln!(out, "{officer} {did} triage group {group}")?;
        }
        GroupCommand::Rename { name, to } => {
            let to = routing::rename_group(&app, None, &name, &to)
                .await
                .map_err(|e| match e {
                    Error::NotFound => anyhow::anyhow!("no such group: {name}"),
                    Error::Invalid => anyhow::anyhow!(
                        "not renamed: the new name must be 1 to 80 characters and not taken \
                         already (or the routes changed meanwhile: try again)"
                    ),
                    e => e.into(),
                })?;
            writeln!(out, "renamed triage group {name} to {to}")?;
        }
        GroupCommand::Delete { name } => {
            routing::delete_group(&app, None, &name)
                .await
                .map_err(|e| match e {
                    Error::NotFound => anyhow::anyhow!("no such group: {name}"),
                    Error::Invalid => anyhow::anyhow!(
                        "not deleted: a category routes to {name}, or cases were routed to it \
                         (only its members see them); take the route off or rename the group"
                    ),
                    e => e.into(),
                })?;
            writeln!(out, "deleted triage group {name}")?;
        }
        GroupCommand::List => print_groups(&app, out).await?,
    }
    Ok(())
}

/// `speakup group list`: each group, a tab, its members' addresses.
async fn print_groups(app: &crate::app::App, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let officers = app.store.officers().await?;
    for g in crate::app::routing::groups(app).await? {
        let members: Vec<&str> = g
            .members
            .iter()
            .filter_map(|id| officers.iter().find(|o| &o.id == id))
            .map(|o| o.email.as_str())
            .collect();
        writeln!(out, "{}\t{}", g.name, members.join(", "))?;
    }
    Ok(())
}

/// The database URL and the key file a backup or restore works with (as `serve` resolves
/// them: flag, environment, file, default).
fn backup_settings(
    common: &CommonArgs,
    key_file: Option<PathBuf>,
) -> anyhow::Result<(String, Option<PathBuf>)> {
    let args = ServeArgs {
        key_file,
        ..Default::default()
    };
    let settings = Settings::resolve(common, &args)?;
    Ok((settings.database_url, settings.key_file))
}

async fn backup(
    common: &CommonArgs,
    file: &std::path::Path,
    key_file: Option<PathBuf>,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let (url, key_file) = backup_settings(common, key_file)?;
    let m = crate::app::backup::backup(&url, key_file.as_deref(), file).await?;
    let c = &m.census;
    writeln!(
        out,
        "backup written to {} ({} database, {} cases, {} items, {} officers, {} audit rows{})",
        file.display(),
        m.backend.as_str(),
        c.cases,
        c.items,
        c.officers,
        c.audit_rows,
        if m.key_file.is_some() {
            ", with the server key file"
        } else {
            ""
        }
    )?;
    writeln!(
        out,
        "It holds the server key: keep it as secret as the key file (see docs/backup.md)."
    )?;
    Ok(())
}

async fn restore(
    common: &CommonArgs,
    file: &std::path::Path,
    force: bool,
    key_file: Option<PathBuf>,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let (url, key_file) = backup_settings(common, key_file)?;
    let done = crate::app::backup::restore(&url, key_file.as_deref(), file, force).await?;
    let c = &done.manifest.census;
    writeln!(
        out,
        "restored {} ({} cases, {} items, {} officers, {} audit rows) into {}",
        file.display(),
        c.cases,
        c.items,
        c.officers,
        c.audit_rows,
        store::redact_url(&url)
    )?;
    if let Some((path, how)) = &done.key_file {
        let how = match how {
            crate::keyfile::Installed::Written => "written",
            crate::keyfile::Installed::Unchanged => "already there",
            crate::keyfile::Installed::Replaced => "replaced",
        };
        writeln!(out, "server key file {how}: {} (mode 0600)", path.display())?;
    }
    Ok(())
}

async fn serve(
    common: &CommonArgs,
    args: &ServeArgs,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let settings = Settings::resolve(common, args)?;
    // The key file is checked (or created) before the database is touched.
    crate::server::server_keys(settings.key_file.as_deref())?;
    let store = open_store(common).await?;
    let holders = crate::app::intake::recipients(store.as_ref()).await?;
    let listener = tokio::net::TcpListener::bind(settings.bind)
        .await
        .with_context(|| format!("cannot listen on {}", settings.bind))?;
    let addr = listener.local_addr()?;
    let metrics = match settings.metrics_bind {
        Some(at) => Some(
            tokio::net::TcpListener::bind(at)
                .await
                .with_context(|| format!("cannot listen on {at} (SPEAKUP_METRICS_BIND)"))?,
        ),
        None => None,
    };
    if let Some(m) = &metrics {
        tracing::info!(addr = %m.local_addr()?, "metrics listening (/metrics)");
    }
    tracing::info!(
        %addr,
        database = %store::redact_url(&settings.database_url),
        backend = store.backend(),
        officer_keys = holders.len(),
        escrow = settings.site.escrow_recipient.is_some(),
        "listening"
    );
    // With port 0 the system picks the port: show the address really bound, unless a public
    // URL was configured (then that is the address reporters use).
    let derived = settings.public_url == format!("http://{}", settings.bind);
    let open = if derived && settings.bind.port() == 0 {
        format!("http://{addr}")
    } else {
        settings.public_url.clone()
    };
    writeln!(out, "Speak Up is running: open {open} in a browser.")?;
    if settings.intake_address().is_none() {
        // Posters and their QR codes print only a configured address, never a guessed one.
        tracing::info!("SPEAKUP_PUBLIC_URL is not set: posters and QR codes are off");
        writeln!(
            out,
            "SPEAKUP_PUBLIC_URL is not set, so there are no posters or QR codes (/poster/qr.svg):\n\
             set it to the address reporters use, for example https://speakup.example.org."
        )?;
    }
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
    crate::server::log_settings(&state.settings, state.site.get().escrow.is_some());
    let stop = crate::server::shutdown_signal();
    crate::server::serve_with_metrics(listener, metrics, state, stop).await?;
    Ok(())
}

/// The use cases' context for a command: the database, the settings links need (the
/// public URL), and the system clock.
async fn app(common: &CommonArgs) -> anyhow::Result<App> {
    app_with(common, MailArgs::default()).await
}

async fn app_with(common: &CommonArgs, mail: MailArgs) -> anyhow::Result<App> {
    let store = open_store(common).await?;
    let args = ServeArgs {
        mail,
        public_url: std::env::var("SPEAKUP_PUBLIC_URL").ok(),
        bind: std::env::var("SPEAKUP_BIND")
            .ok()
            .and_then(|b| b.parse().ok()),
        ..Default::default()
    };
    let settings = Settings::resolve(common, &args)?;
    Ok(App::new(store, settings, Arc::new(SystemClock)).await?)
}

async fn notify(
    common: &CommonArgs,
    args: NotifyArgs,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let app = app_with(common, args.mail).await?;
    anyhow::ensure!(
        app.mailer.is_some(),
        "notification mail is off: set SPEAKUP_SMTP_URL and SPEAKUP_SMTP_FROM"
    );
    let report = crate::app::notify::run(&app, args.now).await?;
    if report.busy {
        writeln!(
            out,
            "another instance is sending notifications; nothing sent"
        )?;
        return Ok(());
    }
    writeln!(out, "sent {} notification mail(s)", report.sent)?;
    anyhow::ensure!(
        report.failed == 0,
        "{} notification mail(s) could not be delivered (see the admin settings page)",
        report.failed
    );
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
            entities,
            all_entities,
        } => {
            let account = NewAccount {
                email: OfficerEmail::parse(&email)?,
                name: OfficerName::parse(&name)?,
                roles: Roles::new(
                    &roles
                        .iter()
                        .map(|r| r.parse::<Role>())
                        .collect::<Result<Vec<_>, _>>()?,
                ),
                recipient: Some(parse_recipient(&recipient)?),
            };
            let app = app(common).await?;
            let places = Places {
                entities,
                all: all_entities,
            };
            officer_add(&app, &account, &places, out).await
        }
        OfficerCommand::List => officer_list(common, out).await,
    }
}

/// The entities an officer added on the command line belongs to.
struct Places {
    entities: Vec<String>,
    all: bool,
}

async fn officer_add(
    app: &App,
    account: &NewAccount,
    places: &Places,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    // Every entity named must exist before the account is made.
    for slug in &places.entities {
        entities::find(app, slug)
            .await
            .map_err(|_| anyhow::anyhow!("no entity {slug:?} (see `speakup entity list`)"))?;
    }
    let (id, link) = accounts::create(app, Changer::Cli, account)
        .await?
        .context("an officer with this e-mail address already exists")?;
    for slug in &places.entities {
        entities::set_member(app, entities::By::Cli, slug, &id, true).await?;
    }
    if places.all {
        entities::set_group_level(app, entities::By::Cli, &id, true).await?;
    }
    let email = account.email.as_str();
    writeln!(
        out,
        "added {email} ({}) with roles {}: {id}",
        account.name.as_str(),
        account.roles
    )?;
    for slug in &places.entities {
        writeln!(out, "in the triage group of entity {slug}")?;
    }
    if places.all {
        writeln!(out, "with access to every entity")?;
    }
    writeln!(
        out,
        "To sign in to the web workspace, {email} opens this one-time link (valid {LINK_HOURS} hours):\n{link}"
    )?;
    Ok(())
}

async fn entity(
    common: &CommonArgs,
    command: EntityCommand,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let app = app(common).await?;
    match command {
        EntityCommand::Add { slug, name } => {
            let added = entities::create(&app, entities::By::Cli, &slug, &name)
                .await
                .map_err(|e| match e {
                    crate::app::Error::Invalid => anyhow::anyhow!(
                        "invalid entity: the slug is 2 to 40 lowercase letters, digits and inner hyphens; the name 1 to 120 characters"
                    ),
                    e => e.into(),
                })?;
            anyhow::ensure!(added, "an entity with the slug {slug:?} already exists");
            writeln!(out, "added entity {slug} ({name}), reached at /e/{slug}/")?;
            Ok(())
        }
        EntityCommand::List => entity_list(&app, out).await,
    }
}

async fn entity_list(app: &App, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let all = entities::list(app).await?;
    let membership = app.store.membership().await?;
    let officers = app.store.officers().await?;
    if all.is_empty() {
        writeln!(out, "no entities")?;
    }
    for e in &all {
        let members: Vec<&str> = officers
            .iter()
            .filter(|o| membership.members.contains(&(e.slug.clone(), o.id.clone())))
            .map(|o| o.email.as_str())
            .collect();
        writeln!(
            out,
            "{}\t{}\t{}",
            e.slug,
            e.names.get("en"),
            members.join(",")
        )?;
    }
    for o in officers
        .iter()
        .filter(|o| membership.group_level.contains(&o.id))
    {
        writeln!(out, "*\t(every entity)\t{}", o.email)?;
    }
    Ok(())
}

async fn officer_list(common: &CommonArgs, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
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

async fn admin(
    common: &CommonArgs,
    command: AdminCommand,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let app = app(common).await?;
    let (email, link) = match command {
        AdminCommand::Create { email, name } => {
            let account = NewAccount {
                email: OfficerEmail::parse(&email)?,
                name: OfficerName::parse(&name)?,
                roles: Roles::new(&[Role::Admin]),
                recipient: None,
            };
            let (_, link) = accounts::create(&app, Changer::Cli, &account)
                .await?
                .context("an officer with this e-mail address already exists")?;
            writeln!(out, "created admin {}", account.email.as_str())?;
            (account.email.as_str().to_owned(), link)
        }
        AdminCommand::Reset { email } => {
            let email = OfficerEmail::parse(&email)?;
            let (account, _) = app
                .store
                .officer_by_email(email.as_str())
                .await?
                .with_context(|| format!("no account {}", email.as_str()))?;
            let (_, link) = accounts::reset(&app, Changer::Cli, &account.id).await?;
            (email.as_str().to_owned(), link)
        }
    };
    writeln!(
        out,
        "One-time enrollment link for {email} (valid {LINK_HOURS} hours; it works once):\n{link}"
    )?;
    Ok(())
}

async fn audit_verify(common: &CommonArgs, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let store = open_store(common).await?;
    match audit::verify(store.as_ref()).await? {
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
                    c.deadlines(c.received_on).ack_due,
                    c.deadlines(c.received_on).feedback_due
                )?;
            }
            Ok(())
        }
        CaseCommand::Export { case, out: dir } => {
            let record = export::find_case(store.as_ref(), &case).await?;
            let n = export::export_case(store.as_ref(), &record, &dir).await?;
            let now = time::OffsetDateTime::now_utc();
            let detail = format!("{n} items");
            let entry = audit::entry(now, CLI_ACTOR, action::EXPORT, &record.reference, &detail);
            audit::record(store.as_ref(), &entry).await?;
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

/// `speakup stats`: the figures the statistics page shows, audited as taken by the operator.
async fn stats(
    common: &CommonArgs,
    args: &StatsArgs,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    use crate::app::stats::{self, Format, Taker};
    let app = app(common).await?;
    let range = stats::range(&args.from, &args.to, app.clock.today()).map_err(|_| {
        anyhow::anyhow!(
            "--from/--to: give months as YYYY-MM (or dates YYYY-MM-DD), the second not before \
             the first, at most ten years apart (got {:?} and {:?})",
            args.from,
            args.to
        )
    })?;
    let format = Format::parse(&args.format).context("--format: csv or json")?;
    let scope = crate::domain::entity::Scope::parse(&args.entity)
        .map_err(|_| anyhow::anyhow!("--entity: an entity's slug, or - for the instance's own"))?;
    let text = stats::export(&app, Taker::Cli, &range, &scope, format).await?;
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        writeln!(out)?;
    }
    Ok(())
}
