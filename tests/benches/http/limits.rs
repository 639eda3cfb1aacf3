//! The physical limits each server figure is compared with, measured in this process in the
//! same run: the cryptography one server-path report needs (on all cores), fsync-ed 4 KiB
//! writes on the disk the database is on, and raw age stream encryption and decryption.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use age::x25519::Recipient;
use speakup::crypto::{self, CaseKey, StreamEncryptor};
use speakup::domain::content::{ReportContent, to_json};
use speakup::domain::receipt::{ReceiptToken, stored_lookup};

/// Exactly what `app::intake::PlainIntake` computes for one anonymous report: the receipt
/// token and the keys derived from it, the stored lookup hash, a case key, the report
/// encrypted to the case and the reporter, and the case key sealed to each holder.
pub fn one_report(what: &str, holders: &[Recipient]) -> usize {
    let token = ReceiptToken::generate().unwrap_or_else(|e| panic!("{e}"));
    let keys = token.derive();
    let stored = stored_lookup(&keys.lookup.0);
    let case_key = CaseKey::generate();
    let to = [case_key.recipient(), keys.recipient()];
    let json = to_json(&ReportContent::new("fraud", what, "Antwerp", "Purchasing"));
    let report = crypto::encrypt(&[&to[0], &to[1]], &json).unwrap_or_else(|e| panic!("{e}"));
    let mut n = stored.len() + report.len() + to[0].to_string().len() + to[1].to_string().len();
    for h in holders {
        n += case_key.seal_to(h).unwrap_or_else(|e| panic!("{e}")).len();
    }
    n
}

/// Reports per second: `one_report` in a loop on `threads` threads for `duration`.
pub fn crypto_limit(what: &str, holders: &[Recipient], threads: usize, duration: Duration) -> f64 {
    let started = Instant::now();
    let total: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0u64;
                    while started.elapsed() < duration {
                        std::hint::black_box(one_report(what, holders));
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    total as f64 / started.elapsed().as_secs_f64()
}

/// fsync-ed 4 KiB writes per second in `dir`, one after the other (what one committing
/// writer can do; SQLite in WAL mode with `synchronous=FULL` syncs the WAL on each commit).
pub fn fsync_limit(dir: &std::path::Path, duration: Duration) -> f64 {
    let path = dir.join("fsync-probe");
    let mut f = std::fs::File::create(&path).unwrap_or_else(|e| panic!("probe file: {e}"));
    let block = [0x5au8; 4096];
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < duration {
        f.write_all(&block).unwrap_or_else(|e| panic!("write: {e}"));
        f.sync_all().unwrap_or_else(|e| panic!("fsync: {e}"));
        n += 1;
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    drop(f);
    let _ = std::fs::remove_file(&path);
    rate
}

/// Raw age speed on `mib` MiB: (encrypt MiB/s, decrypt MiB/s). Encryption goes through the
/// server's own `StreamEncryptor` (to the case and the reporter, as an upload is), decryption
/// through age's stream reader, as a download is.
pub fn age_speed(mib: usize) -> (f64, f64) {
    let case = age::x25519::Identity::generate();
    let reporter = age::x25519::Identity::generate().to_public();
    let to = [case.to_public(), reporter];
    let chunk = vec![0x5au8; 1024 * 1024];
    let started = Instant::now();
    let mut enc = StreamEncryptor::new(&[&to[0], &to[1]]).unwrap_or_else(|e| panic!("{e}"));
    let mut cipher: Vec<Vec<u8>> = Vec::new();
    for _ in 0..mib {
        enc.write(&chunk).unwrap_or_else(|e| panic!("{e}"));
        cipher.extend(enc.full_chunks());
    }
    cipher.extend(enc.finish().unwrap_or_else(|e| panic!("{e}")));
    let enc_rate = mib as f64 / started.elapsed().as_secs_f64();

    let started = Instant::now();
    let reader = Chunks {
        chunks: &cipher,
        i: 0,
        at: 0,
    };
    let d = age::Decryptor::new(reader).unwrap_or_else(|e| panic!("{e}"));
    let mut r = d
        .decrypt(std::iter::once(&case as &dyn age::Identity))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0usize;
    loop {
        let n = r.read(&mut buf).unwrap_or_else(|e| panic!("{e}"));
        if n == 0 {
            break;
        }
        total += n;
    }
    assert_eq!(total, mib * 1024 * 1024, "decrypted length");
    (enc_rate, mib as f64 / started.elapsed().as_secs_f64())
}

struct Chunks<'a> {
    chunks: &'a [Vec<u8>],
    i: usize,
    at: usize,
}

impl Read for Chunks<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while let Some(c) = self.chunks.get(self.i) {
            if self.at < c.len() {
                let n = buf.len().min(c.len() - self.at);
                buf[..n].copy_from_slice(&c[self.at..self.at + n]);
                self.at += n;
                return Ok(n);
            }
            self.i += 1;
            self.at = 0;
        }
        Ok(0)
    }
}
