//! Backups and restores (`speakup backup`, `speakup restore`; docs/backup.md). A backup is one
//! uncompressed tar file: `manifest.json` first, then the server key file `speakup.key` (the
//! key never lives in the database, so a database copy alone opens nothing), then the
//! database copy (`database.sqlite` or `database.pgdump`). It holds what the database and the
//! key file hold: ciphertext and metadata, never plaintext (no-plaintext-at-rest). Because it
//! carries the server key it is as secret as the key file: written with mode 0600, and the
//! key file is restored with mode 0600.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::keyfile;
use crate::store::ops::{self, Backend, Census, CopyFacts};

pub const FORMAT: &str = "speakup-backup";
pub const FORMAT_VERSION: u32 = 1;
const MANIFEST: &str = "manifest.json";
const KEY: &str = "speakup.key";

/// One file in the archive, with its size and SHA-256 (checked on restore).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

/// `manifest.json`: what the archive holds and which build made it. The day only, like every
/// date the platform keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub speakup_version: String,
    pub backend: Backend,
    pub made_on: String,
    pub migrations: Vec<i64>,
    pub census: Census,
    pub key_file: Option<Entry>,
    pub database: Entry,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_file(path: &Path) -> anyhow::Result<(u64, String)> {
    let mut f = fs::File::open(path)?;
    let mut h = Sha256::new();
    let n = std::io::copy(&mut f, &mut h)?;
    Ok((n, hex(&h.finalize())))
}

#[cfg(unix)]
fn private_new_file(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_new_file(path: &Path) -> std::io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

/// Writes a backup of the database at `url` (and of the key file, when there is one) to
/// `out`, a new file, while the server may be running. The copy and the archive are made in
/// a private folder beside `out`, then moved into place, so `out` is complete or absent.
pub async fn backup(url: &str, key_file: Option<&Path>, out: &Path) -> anyhow::Result<Manifest> {
    if out.exists() {
        bail!("{} exists; choose a new file", out.display());
    }
    let backend = Backend::of(url)?;
    let key = match key_file {
        Some(path) if path.exists() => Some(keyfile::read_existing(path)?),
        Some(path) => bail!(
            "the server key file {} (SPEAKUP_KEY_FILE) does not exist; pass the one the server uses with --key-file",
            path.display()
        ),
        None => bail!(
            "invalid setting SPEAKUP_KEY_FILE: the backup carries the server key file; say where it is (--key-file)"
        ),
    };
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let work = tempfile::Builder::new()
        .prefix(".speakup-backup-")
        .tempdir_in(parent)
        .with_context(|| format!("cannot write in {}", parent.display()))?;
    let db_name = match backend {
        Backend::Sqlite => "database.sqlite",
        Backend::Postgres => "database.pgdump",
    };
    let db_path = work.path().join(db_name);
    let facts = ops::copy_database(url, &db_path)
        .await
        .context("cannot copy the database")?;
    let (bytes, sha256) = sha256_file(&db_path)?;
    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        speakup_version: env!("CARGO_PKG_VERSION").into(),
        backend,
        made_on: time::OffsetDateTime::now_utc().date().to_string(),
        migrations: facts.migrations,
        census: facts.census,
        key_file: key.as_ref().map(|k| Entry {
            name: KEY.into(),
            bytes: k.len() as u64,
            sha256: hex(&Sha256::digest(k.as_bytes())),
        }),
        database: Entry {
            name: db_name.into(),
            bytes,
            sha256,
        },
    };
    let archive = work.path().join("backup.tar");
    let (m, k, a) = (manifest.clone(), key.clone(), archive.clone());
    tokio::task::spawn_blocking(move || {
        write_archive(&a, &m, k.as_deref().map(|s| s.as_str()), &db_path)
    })
    .await??;
    fs::rename(&archive, out).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(manifest)
}

fn write_archive(
    path: &Path,
    manifest: &Manifest,
    key: Option<&str>,
    db: &Path,
) -> anyhow::Result<()> {
    let file = private_new_file(path)?;
    let mut tar = tar::Builder::new(std::io::BufWriter::new(file));
    let json = serde_json::to_vec_pretty(manifest)?;
    append(&mut tar, MANIFEST, json.len() as u64, &mut json.as_slice())?;
    if let Some(k) = key {
        append(&mut tar, KEY, k.len() as u64, &mut k.as_bytes())?;
    }
    let mut f = fs::File::open(db)?;
    append(
        &mut tar,
        &manifest.database.name,
        manifest.database.bytes,
        &mut f,
    )?;
    let mut w = tar.into_inner()?;
    w.flush()?;
    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(())
}

/// One regular file, mode 0600, no owner names and no time beyond the epoch.
fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    size: u64,
    data: &mut dyn Read,
) -> anyhow::Result<()> {
    let mut h = tar::Header::new_ustar();
    h.set_size(size);
    h.set_mode(0o600);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut h, name, data)?;
    Ok(())
}

/// Reads `manifest.json`, the archive's first entry, and checks that this build can restore
/// it.
pub fn read_manifest(file: &Path) -> anyhow::Result<Manifest> {
    let f = fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let mut tar = tar::Archive::new(f);
    let mut entries = tar.entries()?;
    let not_ours = || format!("{} is not a Speak Up backup", file.display());
    let mut first = entries
        .next()
        .with_context(not_ours)?
        .with_context(not_ours)?;
    if first.path().with_context(not_ours)?.as_ref() != Path::new(MANIFEST) {
        bail!(not_ours());
    }
    let mut json = Vec::new();
    first.by_ref().take(1024 * 1024).read_to_end(&mut json)?;
    let m: Manifest = serde_json::from_slice(&json).with_context(not_ours)?;
    if m.format != FORMAT {
        bail!(not_ours());
    }
    if m.format_version != FORMAT_VERSION {
        bail!(
            "{} is backup format {}; this version reads format {FORMAT_VERSION}",
            file.display(),
            m.format_version
        );
    }
    let known = ops::known_migrations(m.backend);
    if let Some(v) = m.migrations.iter().find(|v| !known.contains(v)) {
        bail!(
            "the backup was made by a newer release (migration {v:04}, Speak Up {}); restore it with that release or a later one",
            m.speakup_version
        );
    }
    Ok(m)
}

/// What a restore did, for the command's report.
#[derive(Debug)]
pub struct Restored {
    pub manifest: Manifest,
    pub key_file: Option<(PathBuf, keyfile::Installed)>,
}

/// Restores the backup `file` into the database at `url`, which must be empty unless
/// `force`, and its key file to `key_file`; then applies this build's migrations and checks
/// the row counts against the manifest.
pub async fn restore(
    url: &str,
    key_file: Option<&Path>,
    file: &Path,
    force: bool,
) -> anyhow::Result<Restored> {
    let manifest = read_manifest(file)?;
    let target = Backend::of(url)?;
    if target != manifest.backend {
        bail!(
            "the backup is of a {} database and cannot be restored into {}: restore into a {} database",
            manifest.backend.as_str(),
            target.as_str(),
            manifest.backend.as_str()
        );
    }
    let tables = ops::tables(url)
        .await
        .context("cannot read the target database")?;
    if !tables.is_empty() && !force {
        bail!(
            "the database {} is not empty ({} tables); restore only into an empty database, or pass --force to replace everything in it",
            crate::store::redact_url(url),
            tables.len()
        );
    }
    let key_path = match (&manifest.key_file, key_file) {
        (Some(_), None) => bail!(
            "invalid setting SPEAKUP_KEY_FILE: the backup carries a server key file; say where to put it (--key-file)"
        ),
        (Some(_), Some(p)) => Some(p.to_owned()),
        (None, _) => None,
    };
    ops::drop_tables(url, &tables).await?;
    let (u, f, m) = (url.to_owned(), file.to_owned(), manifest.clone());
    let kp = key_path.clone();
    let installed =
        tokio::task::spawn_blocking(move || unpack(&u, &f, &m, kp.as_deref(), force)).await??;
    let before = ops::restored_facts(url)
        .await
        .context("cannot read the restored database")?;
    check_facts(&manifest, &before)?;
    let store = crate::store::connect(url).await?;
    store.migrate().await.context("cannot apply migrations")?;
    Ok(Restored {
        manifest,
        key_file: key_path.zip(installed),
    })
}

fn check_facts(m: &Manifest, found: &CopyFacts) -> anyhow::Result<()> {
    if found.census != m.census || found.migrations != m.migrations {
        bail!(
            "the restored database does not hold what the backup's manifest lists ({:?}, found {:?})",
            m.census,
            found.census
        );
    }
    Ok(())
}

/// Reads the archive after the manifest: the key file (installed 0600), then the database,
/// streamed into place with its checksum verified.
fn unpack(
    url: &str,
    file: &Path,
    m: &Manifest,
    key_path: Option<&Path>,
    force: bool,
) -> anyhow::Result<Option<keyfile::Installed>> {
    let mut tar = tar::Archive::new(fs::File::open(file)?);
    let mut installed = None;
    let mut database_done = false;
    for entry in tar.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.to_string_lossy().into_owned();
        if name == KEY
            && let (Some(expected), Some(path)) = (&m.key_file, key_path)
        {
            let mut text = zeroize::Zeroizing::new(String::new());
            entry.by_ref().take(4096).read_to_string(&mut text)?;
            if hex(&Sha256::digest(text.as_bytes())) != expected.sha256 {
                bail!("the key file in {} is damaged (checksum)", file.display());
            }
            installed = Some(keyfile::install(path, &text, force)?);
        } else if name == m.database.name {
            let mut hashing = HashingReader::new(&mut entry);
            let staged = match m.backend {
                Backend::Sqlite => Some(sqlite_stage(url, &mut hashing)?),
                Backend::Postgres => {
                    ops::postgres_restore(url, &mut hashing)?;
                    None
                }
            };
            if hashing.finish() != m.database.sha256 {
                if let Some(tmp) = staged {
                    let _ = fs::remove_file(tmp);
                }
                bail!(
                    "the database copy in {} is damaged (checksum)",
                    file.display()
                );
            }
            if let Some(tmp) = staged {
                sqlite_swap(url, &tmp)?;
            }
            database_done = true;
        }
    }
    if !database_done {
        bail!("{} holds no database copy", file.display());
    }
    Ok(installed)
}

/// Writes the copy beside the target file (mode 0600), to be moved over it once its checksum
/// is known to be right.
fn sqlite_stage(url: &str, source: &mut dyn Read) -> anyhow::Result<PathBuf> {
    let path = ops::sqlite_path(url).context("not a SQLite file URL")?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("restoring");
    let _ = fs::remove_file(&tmp);
    let mut f = private_new_file(&tmp)?;
    std::io::copy(source, &mut f)?;
    f.sync_all()?;
    Ok(tmp)
}

/// Moves the staged copy over the target (after removing a write-ahead log that belongs to
/// the old file), so a crash leaves the old or the new one.
fn sqlite_swap(url: &str, tmp: &Path) -> anyhow::Result<()> {
    let path = ops::sqlite_path(url).context("not a SQLite file URL")?;
    for suffix in ["-wal", "-shm"] {
        let mut side = path.clone().into_os_string();
        side.push(suffix);
        match fs::remove_file(&side) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
    }
    fs::rename(tmp, &path)?;
    Ok(())
}

/// Passes bytes through while hashing them (the database copy's checksum).
struct HashingReader<'a> {
    inner: &'a mut dyn Read,
    hash: Sha256,
}

impl<'a> HashingReader<'a> {
    fn new(inner: &'a mut dyn Read) -> Self {
        Self {
            inner,
            hash: Sha256::new(),
        }
    }

    /// Reads what the consumer left (pg_restore may stop before the end) and returns the hash.
    fn finish(mut self) -> String {
        let _ = std::io::copy(&mut self, &mut std::io::sink());
        hex(&self.hash.finalize())
    }
}

impl Read for HashingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}
