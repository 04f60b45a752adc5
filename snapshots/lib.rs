//! Insta snapshots of normalized responses, `<target>/<feature>__<id>.snap`. No code lives here; see
//! `Cargo.toml` beside this file for why the folder is a package.
