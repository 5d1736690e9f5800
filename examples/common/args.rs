//! Command-line handling shared by the chapters that draw pictures: `--write-docs` (pictures go
//! to docs/img/), or `--svg PATH` (one picture) / `--out DIR` (several); without any, nothing
//! is written.

use std::path::PathBuf;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The value of the path flag `flag`, or docs/img/`docs_name` for `--write-docs`.
fn path_arg(flag: &str, docs_name: &str) -> Res<Option<PathBuf>> {
    let mut args = std::env::args_os().skip(1);
    let mut out = None;
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--write-docs") => {
                out = Some(
                    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                        .join("docs/img")
                        .join(docs_name),
                )
            }
            Some(f) if f == flag => {
                out = Some(PathBuf::from(
                    args.next().ok_or(format!("{flag} needs a path"))?,
                ))
            }
            _ => {
                return Err(format!(
                    "unknown argument {arg:?} (expected --write-docs or {flag} PATH)"
                )
                .into())
            }
        }
    }
    Ok(out)
}

/// Where to write the chapter's one picture (`--svg PATH`), if anywhere.
#[allow(dead_code)] // each example includes this file and uses one of the two functions
pub fn svg_output(name: &str) -> Res<Option<PathBuf>> {
    path_arg("--svg", name)
}

/// The directory for the chapter's pictures (`--out DIR`), if any.
#[allow(dead_code)] // each example includes this file and uses one of the two functions
pub fn picture_dir() -> Res<Option<PathBuf>> {
    path_arg("--out", "")
}
