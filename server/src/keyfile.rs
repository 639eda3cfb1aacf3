//! The server key file: 32 random bytes (hex) from which the mailbox-cookie and CSRF keys
//! are derived. It lives outside the database (beside a SQLite database by default, or at
//! `SPEAKUP_KEY_FILE`), so a copy of the database cannot mint a cookie or a CSRF token; it
//! keeps database-alone-opens-nothing. Created on first start with mode 0600; every instance
//! of one deployment reads the same file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why the key file cannot be used; the message names the file and the setting.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read or create the key file {path} (SPEAKUP_KEY_FILE): {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the key file {path} (SPEAKUP_KEY_FILE) must hold 64 hexadecimal characters")]
    Malformed { path: PathBuf },
    #[error(
        "the key file {path} (SPEAKUP_KEY_FILE) is readable by group or others (mode {mode:o}); run `chmod 600` on it"
    )]
    Exposed { path: PathBuf, mode: u32 },
    #[error(
        "invalid setting SPEAKUP_KEY_FILE: must be set when the database is not a SQLite file (the same file on every instance)"
    )]
    NotConfigured,
    #[error("no randomness for a new key file: {0}")]
    Random(getrandom::Error),
}

const KEY_LEN: usize = 32;

/// The key of the configured file (`Settings::key_file`); refused when there is none.
pub fn load(path: Option<&Path>) -> Result<[u8; KEY_LEN], KeyFileError> {
    load_or_create(path.ok_or(KeyFileError::NotConfigured)?)
}

/// The key in `path`, creating the file (0600) with a fresh key when there is none.
pub fn load_or_create(path: &Path) -> Result<[u8; KEY_LEN], KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    };
    if !path.exists() {
        create(path).map_err(|e| match e {
            Created::Io(source) => io(source),
            Created::Random(e) => KeyFileError::Random(e),
        })?;
    }
    check_mode(path)?;
    let text = zeroize::Zeroizing::new(fs::read_to_string(path).map_err(io)?);
    parse(text.trim()).ok_or_else(|| KeyFileError::Malformed {
        path: path.to_owned(),
    })
}

/// The text of an existing key file, checked (mode 0600, 64 hex characters) but not created:
/// for a backup, which carries the file as it is.
pub fn read_existing(path: &Path) -> Result<zeroize::Zeroizing<String>, KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    };
    check_mode(path)?;
    let text = zeroize::Zeroizing::new(fs::read_to_string(path).map_err(io)?);
    parse(text.trim()).ok_or_else(|| KeyFileError::Malformed {
        path: path.to_owned(),
    })?;
    Ok(text)
}

/// What restoring a key file did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Installed {
    Written,
    /// The file was there already with the same key.
    Unchanged,
    /// A different key was there: only with `replace` (`restore --force`).
    Replaced,
}

/// Puts a backed-up key file at `path` with mode 0600. A different key already there is kept
/// (an error) unless `replace`; then it is replaced atomically.
pub fn install(path: &Path, text: &str, replace: bool) -> Result<Installed, KeyFileError> {
    parse(text.trim()).ok_or_else(|| KeyFileError::Malformed {
        path: path.to_owned(),
    })?;
    let io = |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    };
    let existing = path.exists();
    if existing {
        let old = zeroize::Zeroizing::new(fs::read_to_string(path).map_err(io)?);
        if old.trim() == text.trim() {
            return Ok(Installed::Unchanged);
        }
        if !replace {
            return Err(KeyFileError::Io {
                path: path.to_owned(),
                source: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "a different key file is already there; pass --force to replace it",
                ),
            });
        }
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(io)?;
    }
    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).map_err(KeyFileError::Random)?;
    let tmp = path.with_extension(format!("tmp-{}", u64::from_le_bytes(suffix)));
    let written = (|| {
        let mut f = private_file(&tmp)?;
        f.write_all(text.trim().as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written.map_err(io)?;
    Ok(if existing {
        Installed::Replaced
    } else {
        Installed::Written
    })
}

fn parse(hex: &str) -> Option<[u8; KEY_LEN]> {
    if hex.len() != KEY_LEN * 2 || !hex.is_ascii() {
        return None;
    }
    let mut key = [0u8; KEY_LEN];
    for (i, b) in key.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(key)
}

enum Created {
    Io(std::io::Error),
    Random(getrandom::Error),
}

/// Writes a new key to a private temporary file and links it into place, so an instance
/// starting at the same moment either sees no file or a complete one; the first link wins.
fn create(path: &Path) -> Result<(), Created> {
    let mut key = zeroize::Zeroizing::new([0u8; KEY_LEN]);
    getrandom::fill(key.as_mut()).map_err(Created::Random)?;
    let hex: zeroize::Zeroizing<String> =
        zeroize::Zeroizing::new(key.iter().map(|b| format!("{b:02x}")).collect());
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(Created::Io)?;
    }
    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).map_err(Created::Random)?;
    let tmp = path.with_extension(format!("tmp-{}", u64::from_le_bytes(suffix)));
    let written = (|| {
        let mut f = private_file(&tmp)?;
        f.write_all(hex.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()
    })();
    let linked = written.and_then(|()| match fs::hard_link(&tmp, path) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    });
    let _ = fs::remove_file(&tmp);
    linked.map_err(Created::Io)
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
fn check_mode(path: &Path) -> Result<(), KeyFileError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(path)
        .map_err(|source| KeyFileError::Io {
            path: path.to_owned(),
            source,
        })?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(KeyFileError::Exposed {
            path: path.to_owned(),
            mode: mode & 0o777,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_: &Path) -> Result<(), KeyFileError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("speakup.key");
        let a = load_or_create(&path).unwrap();
        let b = load_or_create(&path).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, [0u8; KEY_LEN]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                load_or_create(&path),
                Err(KeyFileError::Exposed { .. })
            ));
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        }
        fs::write(&path, "not a key").unwrap();
        assert!(matches!(
            load_or_create(&path),
            Err(KeyFileError::Malformed { .. })
        ));
    }

    #[test]
    fn a_restored_key_is_private_and_never_silently_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new").join("speakup.key");
        let a = "ab".repeat(KEY_LEN);
        let b = "cd".repeat(KEY_LEN);
        assert_eq!(install(&path, &a, false).unwrap(), Installed::Written);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(read_existing(&path).unwrap().trim(), a);
        assert_eq!(install(&path, &a, false).unwrap(), Installed::Unchanged);
        let err = install(&path, &b, false).unwrap_err().to_string();
        assert!(err.contains("--force"), "{err}");
        assert_eq!(install(&path, &b, true).unwrap(), Installed::Replaced);
        assert_eq!(load_or_create(&path).unwrap(), [0xcd; KEY_LEN]);
        assert!(matches!(
            install(&path, "nope", true),
            Err(KeyFileError::Malformed { .. })
        ));
    }
}
