//! Speak Up: an end-to-end encrypted whistleblowing platform. The library holds everything;
//! the `speakup` binary only parses the command line and calls [`cli::run`]. Layers, from the
//! bottom: `domain` (pure rules), `crypto` and `auth` (primitives), `store` (all SQL), `app`
//! (the use cases), then `web` and `cli` (the two front doors), and `server` (the process).

pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod connections;
pub mod crypto;
pub mod domain;
pub mod i18n;
pub mod keyfile;
pub mod mail;
pub mod metrics;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod web;

#[cfg(test)]
mod hostile_input;
