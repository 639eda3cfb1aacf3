//! The case's public reference (shown to reporter and officers). Random rather than
//! sequential, so a reference reveals neither how many reports exist nor when one was filed.

use std::fmt;

use super::receipt::ALPHABET;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CaseReference(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a case reference")]
pub struct InvalidReference;

impl CaseReference {
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut s = String::from("SU-");
        let mut buf = [0u8; 32];
        let mut n = 0;
        while n < 8 {
            getrandom::fill(&mut buf)?;
            for &b in buf.iter().filter(|&&b| b < 240) {
                if n == 8 {
                    break;
                }
                if n == 4 {
                    s.push('-');
                }
                s.push(char::from(ALPHABET[usize::from(b % 30)]));
                n += 1;
            }
        }
        Ok(Self(s))
    }

    pub fn parse(input: &str) -> Result<Self, InvalidReference> {
        let up = input.trim().to_ascii_uppercase();
        let body = up.strip_prefix("SU-").ok_or(InvalidReference)?;
        let ok = body.len() == 9
            && body.bytes().enumerate().all(|(i, c)| {
                if i == 4 {
                    c == b'-'
                } else {
                    ALPHABET.contains(&c)
                }
            });
        if ok {
            Ok(Self(up))
        } else {
            Err(InvalidReference)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CaseReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_references_parse() {
        let r = CaseReference::generate().unwrap();
        assert_eq!(r.as_str().len(), 12);
        assert_eq!(CaseReference::parse(&r.as_str().to_lowercase()).unwrap(), r);
        assert!(CaseReference::parse("SU-0000-0000").is_err());
        assert!(CaseReference::parse("XX-2345-6789").is_err());
    }
}
