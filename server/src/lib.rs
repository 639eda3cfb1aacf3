//! Speak Up: an end-to-end encrypted whistleblowing platform. The library holds everything;
//! the `speakup` binary only parses the command line and calls [`cli::run`].

pub mod audit;
pub mod auth;
pub mod cases;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod export;
pub mod i18n;
pub mod retention;
pub mod server;
pub mod site;
pub mod store;
pub mod telemetry;
pub mod web;
