//! `regcli`: a small command-line client for Docker / OCI registries, on top
//! of the `registry` crate, reading docker's credentials and certificates.
//!
//! stdout carries what machines read (tags one per line, raw manifests and
//! configs, digests, `--json` documents); stderr carries what people read
//! (progress, one-line errors `regcli: <STATUS>: <message>`). The exit code
//! tells the class of a failure (see `exit.rs`).

#![forbid(unsafe_code)]

mod args;
mod artifacts;
mod commands;
mod connect;
mod exit;
mod login;
mod mirrors;
mod output;
mod progress;
mod sync;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return exit::usage(e),
    };
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => exit::fail(&e),
    }
}
