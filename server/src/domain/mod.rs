//! Domain types that parse rather than validate: once a value of these types exists it is
//! well-formed, so handlers and the store never re-check (or log) raw reporter input. Pure
//! rules only: no I/O, no clock, no database.

/// A closed vocabulary stored as text: `as_str` for the database and templates, `FromStr`
/// that refuses anything else (a stored value that does not parse is corrupt, never a default).
macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s { $($s => Ok($name::$variant),)+ _ => Err($crate::domain::UnknownValue) }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod audit;
pub mod case;
pub mod content;
pub mod deadlines;
pub mod entity;
pub mod holder;
pub mod meeting;
pub mod notify;
pub mod officer;
pub mod permission;
pub mod poster;
pub mod receipt;
pub mod reference;
pub mod retention;
pub mod routing;
pub mod stats;
pub mod timeline;

/// A stored word outside its vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown value")]
pub struct UnknownValue;
